"""Photos: checked before anything is stored (type from the bytes, not the name; size)."""

import hashlib
from dataclasses import dataclass

from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from cockpit.errors import ApplicationError

MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_PHOTOS = 3
FORMATS = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
}


@dataclass
class CheckedPhoto:
    upload: UploadedFile
    content_type: str
    extension: str
    size: int
    sha256: str
    width: int
    height: int


def photo_check(upload: UploadedFile, *, field: str = "photos") -> CheckedPhoto:
    if upload.size > MAX_PHOTO_BYTES:
        raise ApplicationError(
            _("照片不能超过 10 MB。"),
            fields={field: [_("“%(name)s”超过 10 MB。") % {"name": upload.name}]},
            status_code=413,
        )
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    try:
        with Image.open(upload) as image:
            fmt = image.format
            width, height = image.size
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        fmt = None
    upload.seek(0)
    if fmt not in FORMATS:
        raise ApplicationError(
            _("照片只能是 JPEG、PNG 或 WebP 格式。"),
            fields={field: [_("“%(name)s”不是 JPEG、PNG 或 WebP 图片。") % {"name": upload.name}]},
            status_code=415,
        )
    content_type, extension = FORMATS[fmt]
    return CheckedPhoto(
        upload, content_type, extension, upload.size, digest.hexdigest(), width, height
    )


def photos_check(
    uploads: list[UploadedFile], *, field: str = "photos", max_count: int = MAX_PHOTOS
) -> list[CheckedPhoto]:
    if len(uploads) > max_count:
        raise ApplicationError(
            _("最多上传 %(n)d 张照片。") % {"n": max_count},
            fields={field: [_("最多 %(n)d 张。") % {"n": max_count}]},
        )
    return [photo_check(u, field=field) for u in uploads]


def upload_from_base64(data: str, *, name: str = "photo", field: str = "photos") -> UploadedFile:
    """A base64 image (optionally a data: URL) as an upload for photo_check. The size is
    checked on the encoded length first, so an oversized body is refused before decoding."""
    import base64
    import binascii

    from django.core.files.uploadedfile import SimpleUploadedFile

    if not isinstance(data, str) or not data.strip():
        raise ApplicationError(
            _("照片数据无效。"), fields={field: [_("照片须为 base64 编码的图片。")]}
        )
    if data.startswith("data:"):
        data = data.partition(",")[2]
    data = "".join(data.split())
    if len(data) * 3 // 4 > MAX_PHOTO_BYTES + 3:
        raise ApplicationError(
            _("照片不能超过 10 MB。"),
            fields={field: [_("“%(name)s”超过 10 MB。") % {"name": name}]},
            status_code=413,
        )
    try:
        raw = base64.b64decode(data + "=" * (-len(data) % 4), validate=False)
    except (binascii.Error, ValueError):
        raise ApplicationError(
            _("照片数据无效。"), fields={field: [_("照片须为 base64 编码的图片。")]}
        )
    return SimpleUploadedFile(name, raw)
