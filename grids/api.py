"""HTTP API of the territory (mounted at /api/grids/): grids for the map, locating a point,
field workers' positions and the forces layer. Errors use the one body of cockpit.errors."""

import json
from collections import Counter
from datetime import timedelta

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from accounts.selectors import user_scope_path
from cockpit.errors import ApplicationError
from grids import selectors, services
from grids.coords import CRS_CHOICES, to_storage_point
from grids.models import Node


class HasScope(BasePermission):
    """Staff with a place in the command tree; the 三员 administrators and unassigned accounts
    see no territory data."""

    message = gettext_lazy("您的账号没有管辖范围，不能查看网格数据。")

    def has_permission(self, request, view) -> bool:
        return user_scope_path(request.user) is not None


def _node_brief(node: Node | None) -> dict | None:
    if node is None:
        return None
    return {"id": node.id, "kind": node.kind, "code": node.code, "name": node.name}


def _community_brief(community) -> dict | None:
    if community is None:
        return None
    return {"id": community.id, "code": community.code, "name": community.name}


class GridListApi(APIView):
    """GET: the grids the user may see, as a GeoJSON FeatureCollection (outlines simplified)."""

    permission_classes = [IsAuthenticated, HasScope]

    def get(self, request):
        features = [
            {
                "type": "Feature",
                "id": grid.id,
                "geometry": json.loads(grid.geojson) if grid.geojson else None,
                "properties": {
                    "code": grid.code,
                    "name": grid.name,
                    "path": grid.path,
                    "squad_id": grid.parent_id,
                    "community": _community_brief(grid.community),
                },
            }
            for grid in selectors.grids_for(user=request.user)
        ]
        return Response({"type": "FeatureCollection", "features": features})


class GridDetailApi(APIView):
    """GET: one grid inside the user's scope (404 otherwise), with its full outline and chain."""

    permission_classes = [IsAuthenticated, HasScope]

    def get(self, request, grid_id: int):
        grid = selectors.grid_get_for(user=request.user, grid_id=grid_id)
        leader = grid.leader
        return Response(
            {
                "type": "Feature",
                "id": grid.id,
                "geometry": json.loads(grid.geojson) if grid.geojson else None,
                "properties": {
                    "code": grid.code,
                    "name": grid.name,
                    "path": grid.path,
                    "community": _community_brief(grid.community),
                    "leader": {"id": leader.id, "name": str(leader)} if leader else None,
                    "chain": [_node_brief(n) for n in selectors.node_chain(node=grid)],
                    "updated_at": grid.updated_at,
                },
            }
        )


class GridLocateApi(APIView):
    """GET ?lng=&lat=&crs=wgs84|gcj02: the grid covering the point, its community and chain."""

    permission_classes = [IsAuthenticated, HasScope]

    class InputSerializer(serializers.Serializer):
        lng = serializers.FloatField(label=gettext_lazy("经度"))
        lat = serializers.FloatField(label=gettext_lazy("纬度"))
        crs = serializers.ChoiceField(
            label=gettext_lazy("坐标系"), choices=CRS_CHOICES, default="wgs84"
        )

    def get(self, request):
        data = self.InputSerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        point = to_storage_point(**data.validated_data)
        grid = selectors.grid_locate(point=point)
        if grid is None:
            raise ApplicationError(
                _("该位置不在本镇的任何网格内。"),
                fields={"lng": [_("请确认坐标和坐标系（wgs84 或 gcj02）。")]},
                status_code=status.HTTP_404_NOT_FOUND,
            )
        return Response(
            {
                "point": {"lng": round(point.x, 7), "lat": round(point.y, 7), "crs": "wgs84"},
                "grid": _node_brief(grid),
                "community": _community_brief(grid.community),
                "chain": [_node_brief(n) for n in selectors.node_chain(node=grid)],
            }
        )


class PositionRecordApi(APIView):
    """POST: the logged-in field worker reports where they are now."""

    class InputSerializer(serializers.Serializer):
        lng = serializers.FloatField(label=gettext_lazy("经度"))
        lat = serializers.FloatField(label=gettext_lazy("纬度"))
        crs = serializers.ChoiceField(
            label=gettext_lazy("坐标系"), choices=CRS_CHOICES, default="wgs84"
        )
        accuracy = serializers.FloatField(
            label=gettext_lazy("精度（米）"), required=False, allow_null=True, min_value=0
        )
        on_duty = serializers.BooleanField(label=gettext_lazy("在岗"), default=True)
        recorded_at = serializers.DateTimeField(
            label=gettext_lazy("定位时间"), required=False, allow_null=True
        )

    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        position = services.position_record(
            staff=request.user,
            lng=v["lng"],
            lat=v["lat"],
            crs=v["crs"],
            accuracy_m=v.get("accuracy"),
            recorded_at=v.get("recorded_at"),
            on_duty=v["on_duty"],
        )
        grid = selectors.grid_locate(point=position.point)
        return Response(
            {
                "id": position.id,
                "lng": round(position.point.x, 7),
                "lat": round(position.point.y, 7),
                "recorded_at": position.recorded_at,
                "grid": _node_brief(grid),
            },
            status=status.HTTP_201_CREATED,
        )


class ForcesLatestApi(APIView):
    """GET ?role=&max_age_hours=: the latest position of each staff member inside the user's
    scope (力量上图), as GeoJSON, with a count per role."""

    permission_classes = [IsAuthenticated, HasScope]

    class InputSerializer(serializers.Serializer):
        role = serializers.ChoiceField(
            label=gettext_lazy("角色"), choices=User.Role.choices, required=False
        )
        max_age_hours = serializers.IntegerField(
            label=gettext_lazy("最长时间（小时）"), min_value=1, required=False, default=12
        )

    def get(self, request):
        data = self.InputSerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        hours = min(data.validated_data["max_age_hours"], settings.POSITION_HISTORY_DAYS * 24)
        rows = list(
            selectors.forces_latest(
                user=request.user,
                role=data.validated_data.get("role"),
                max_age=timedelta(hours=hours),
            )
        )
        features = [
            {
                "type": "Feature",
                "id": row.staff_id,
                "geometry": {
                    "type": "Point",
                    "coordinates": [round(row.point.x, 7), round(row.point.y, 7)],
                },
                "properties": {
                    "staff_id": row.staff_id,
                    "name": str(row.staff),
                    "role": row.staff.role,
                    "role_label": row.staff.get_role_display(),
                    "on_duty": row.on_duty,
                    "accuracy_m": row.accuracy_m,
                    "recorded_at": row.recorded_at,
                },
            }
            for row in rows
        ]
        counts = Counter(row.staff.role for row in rows)
        return Response({"type": "FeatureCollection", "features": features, "counts": dict(counts)})
