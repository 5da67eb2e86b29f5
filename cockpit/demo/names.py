"""Word lists for the demo town: people's names, communities, roads. Plausible, not real."""

import random

# The commonest surnames, roughly in order of frequency; earlier ones are drawn more often.
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红建文辉力斌宇浩凯鹏飞鑫波俊峰晨雪琳婷倩颖佳欣怡"
    "志国海春林云晓燕丹宁海东亮成龙杭越钱嘉瑞思雨泽轩梓涵子豪博文一鸣心悦诗琪慧立新卫民永福晴岚"
)

# Stems for community (社区) names.
COMMUNITY_STEMS = [
    "兰里", "振华", "绿城", "星洲", "紫金", "金渡", "西园", "北港", "锦绣", "华联", "蓝庭", "桂苑",
    "寿丰", "双桥", "庙桥", "方家", "石祥", "塘北", "花园", "政苑", "吉鸿", "水乡", "嘉绿", "杨家",
    "墩余", "灯彩", "绕城", "北园", "益乐", "文新", "丰潭", "桃源", "翡翠", "西溪", "振中", "申花",
    "望月", "清水", "湖畔", "东岳", "和睦", "永福", "上坝", "沿山", "紫荆", "柳营", "新桥", "春晖",
    "香樟", "银杏", "晨光", "朝晖",
]  # fmt: skip

# Stems for road names (…路).
ROAD_STEMS = [
    "兰里", "振华", "紫金港", "古墩", "留祥", "墩余", "申花", "丰潭", "西园", "学院", "厚仁", "石祥",
    "塘北", "宏丰", "灯彩", "益乐", "双桥", "华联", "星洲", "紫宣", "方家", "政苑", "嘉绿", "莲花",
    "文鼎", "金渡", "吉鸿", "池华", "同心", "丰盛", "翠柏", "云峰", "三墩", "绿汀", "西溪", "余杭塘",
]  # fmt: skip

ORDINALS = "一二三四五六七八九十"

MOBILE_PREFIXES = [
    "138",
    "139",
    "135",
    "136",
    "137",
    "150",
    "151",
    "152",
    "157",
    "158",
    "159",
    "182",
    "187",
    "188",
    "177",
    "199",
]


def person_name(rng: random.Random) -> str:
    # Weight towards the common surnames: index drawn from a triangular distribution at 0.
    surname = SURNAMES[min(len(SURNAMES) - 1, int(rng.triangular(0, len(SURNAMES), 0)))]
    given = rng.choice(GIVEN) if rng.random() < 0.3 else rng.choice(GIVEN) + rng.choice(GIVEN)
    return surname + given


def mobile(rng: random.Random) -> str:
    return rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"


def ordinal(n: int) -> str:
    """1 → 一 … 10 → 十 (enough for the six areas)."""
    return ORDINALS[n - 1]
