"""The shipped taxonomy: data only, loaded by events.taxonomy.taxonomy_load().

Sources (standards.md §1): the GB/T 47678.5-2026 大类 and the selected 小类 of §1.1 (5-digit
codes, 大类 2 + 小类 3), the legacy GB/T 30428.2-2013 部件 codes of §1.2 as aliases, the time-limit
examples of §1.6 and the "135" rule of §5. Official PDFs were not available to the authors of
standards.md: names and codes are as transcribed there and must be checked against the official
text before acceptance. Everything here is a starting point that district admins edit in the
admin (categories, deadlines, calendar); the loader never overwrites what admins tuned, except
the standard's own names and codes.
"""

STANDARD = "GB/T 47678.5-2026"
LOCAL = "local"  # standard_ref of the town's own scenes (is_local_extension=True)

# 大类: (kind, code) -> (name, English name). 部件 and 事项 share codes 01–05 (the 事项 of a 部件 is
# the 部件 "异常"), which is why a category is unique on (standard_ref, kind, code).
MAJORS = {
    ("component", "01"): ("市政公用设施", "Municipal utilities"),
    ("component", "02"): ("交通设施", "Traffic facilities"),
    ("component", "03"): ("市容环卫设施", "Sanitation facilities"),
    ("component", "04"): ("园林绿化设施", "Landscaping facilities"),
    ("component", "05"): ("其他管理部件", "Other components"),
    ("matter", "01"): ("市政公用设施类", "Municipal utilities"),
    ("matter", "02"): ("交通设施类", "Traffic facilities"),
    ("matter", "03"): ("市容环卫设施类", "Sanitation facilities"),
    ("matter", "04"): ("园林绿化设施类", "Landscaping facilities"),
    ("matter", "05"): ("其他管理部件类", "Other components"),
    ("matter", "06"): ("市容环境类", "City appearance"),
    ("matter", "07"): ("宣传广告类", "Advertising"),
    ("matter", "08"): ("施工管理类", "Construction management"),
    ("matter", "09"): ("街面秩序类", "Street order"),
    ("matter", "10"): ("其他事项类", "Other matters"),
}

# 管理部件 (§1.1 selected 小类): code, name, English, legacy GB/T 30428.2 code (§1.2) or "".
# Legacy aliases only where §1.2 names the same object; 0307 广告牌匾 covers both 03006 户外广告
# and 03007 牌匾标识, so it is left unmapped rather than guessed. Legacy 事件 codes vary by
# deployment (§1.2) and are deliberately not hard-coded.
COMPONENTS = [
    ("01001", "供水井盖", "Water-supply manhole cover", "0101"),
    ("01002", "污水井盖", "Sewage manhole cover", "0102"),
    ("01003", "雨水井盖", "Storm-drain manhole cover", "0103"),
    ("01004", "雨水箅子", "Storm-drain grate", "0104"),
    ("01005", "电力井盖", "Power manhole cover", "0105"),
    ("01006", "路灯井盖", "Street-light manhole cover", "0106"),
    ("01007", "通信井盖", "Telecom manhole cover", "0107"),
    ("01011", "燃气井盖", "Gas manhole cover", "0111"),
    ("01013", "消防设施", "Fire-fighting facility", "0113"),
    ("01023", "不明井盖", "Manhole cover of unknown owner", "0114"),
    ("01027", "通信交接箱", "Telecom cross-connect cabinet", ""),
    ("01028", "电力设施", "Power facility", ""),
    ("01037", "路灯", "Street light", "0118"),
    ("01046", "户外健身设施", "Outdoor fitness equipment", "0126"),
    ("01048", "变压器（箱）", "Transformer (box)", ""),
    ("01049", "燃气调压站（箱）", "Gas pressure-regulating station (box)", ""),
    ("01050", "监控电子眼设施", "Surveillance camera", ""),
    ("01054", "充电桩", "Charging pile", ""),
    ("01066", "紧急报警点SOS", "Emergency SOS point", ""),
    ("01069", "水域附属设施", "Waterside facility", "0603"),
    ("01070", "水域护栏", "Waterside railing", ""),
    ("01072", "排水泵站", "Drainage pumping station", ""),
    ("01075", "快递柜", "Parcel locker", ""),
    ("01077", "综合杆", "Multi-function pole", ""),
    ("02001", "停车场", "Car park", "0201"),
    ("02004", "公交站设施", "Bus-stop facility", "0203"),
    ("02006", "过街天桥", "Footbridge", ""),
    ("02010", "交通标志牌及标线", "Traffic sign and road marking", ""),
    ("02012", "路名牌", "Street-name sign", ""),
    ("02013", "地名牌", "Place-name sign", ""),
    ("02014", "交通信号灯", "Traffic signal", ""),
    ("02017", "交通护栏", "Traffic barrier", ""),
    ("02025", "非机动车停放点", "Bicycle parking point", ""),
    ("02034", "无障碍设施", "Accessibility facility", ""),
    ("02035", "应急避难指示牌", "Emergency-shelter sign", ""),
    ("02038", "门（楼号）牌", "House-number plate", ""),
    ("02043", "减速带", "Speed bump", ""),
    ("02044", "公路隧道", "Road tunnel", ""),
    ("03001", "公共厕所", "Public toilet", "0301"),
    ("03003", "化粪池", "Septic tank", ""),
    ("03004", "垃圾间（楼）", "Refuse room", ""),
    ("03005", "垃圾箱", "Litter bin", "0305"),
    ("03006", "户外广告", "Outdoor advertisement", ""),
    ("03007", "牌匾标识", "Shop sign", ""),
    ("03008", "宣传栏", "Notice board", "0501"),
    ("04001", "古树名木", "Heritage tree", "0401"),
    ("04002", "行道树", "Street tree", "0402"),
    ("04006", "雕塑", "Sculpture", "0406"),
    ("04013", "绿地", "Green space", ""),
    ("05002", "公房地下室", "Public-housing basement", "0503"),
    ("05003", "车辆加油（气、电）站", "Filling, gas or charging station", ""),
    ("05009", "文物古迹", "Historic relic", ""),
]

# 管理事项 06–10 (§1.1 selected 小类). The 事项 01–05 are generated from COMPONENTS
# ("<部件名>异常", standards.md §1.1).
MATTERS = [
    ("06001", "私搭乱建", "Illegal construction"),
    ("06003", "违章接坡", "Illegal kerb ramp"),
    ("06007", "沿街晾挂", "Laundry hung along the street"),
    ("06009", "空调室外机低挂", "Low-mounted air-conditioner unit"),
    ("06010", "暴露垃圾", "Exposed rubbish"),
    ("06011", "积存垃圾渣土", "Accumulated rubbish and muck"),
    ("06012", "道路不洁", "Dirty road"),
    ("06013", "道路破损", "Damaged road"),
    ("06014", "道路遗撒（洒）", "Spillage on the road"),
    ("06017", "绿地脏乱", "Littered green space"),
    ("06020", "焚烧垃圾、树叶", "Burning rubbish or leaves"),
    ("06025", "水域不洁", "Polluted water surface"),
    ("06027", "油烟污染", "Cooking-fume pollution"),
    ("06028", "噪声扰民", "Noise nuisance"),
    ("06029", "露天烧烤", "Open-air barbecue"),
    ("06034", "废弃车辆", "Abandoned vehicle"),
    ("06035", "废弃家具设备", "Discarded furniture or equipment"),
    ("06036", "乱堆杂物", "Piled-up clutter"),
    ("06038", "擅自饲养家禽家畜", "Unauthorised poultry or livestock"),
    ("06040", "私设地锁、阻车桩", "Private parking lock or bollard"),
    ("06041", "垃圾未分类", "Unsorted rubbish"),
    ("06042", "垃圾站（箱）满溢", "Overflowing rubbish station or bin"),
    ("06045", "非法占绿毁绿", "Encroaching on or damaging greenery"),
    ("06051", "盲道缺损", "Damaged tactile paving"),
    ("07001", "非法小广告", "Illegal flyer posting"),
    ("07002", "街头散发广告", "Handing out flyers in the street"),
    ("07003", "违规户外广告", "Non-compliant outdoor advertisement"),
    ("07006", "违规牌匾标识", "Non-compliant shop sign"),
    ("07007", "违规标语宣传品", "Non-compliant banner or poster"),
    ("08001", "施工扰民", "Construction nuisance"),
    ("08002", "施工占道", "Construction occupying the road"),
    ("08003", "无证掘路", "Unlicensed road excavation"),
    ("08004", "工地扬尘", "Construction-site dust"),
    ("08005", "施工废弃料", "Construction waste"),
    ("08011", "渣土运输车辆未安装密闭装置", "Muck truck without a sealed cover"),
    ("08016", "无证建设", "Unlicensed construction"),
    ("09001", "无照经营游商", "Unlicensed street vendor"),
    ("09002", "早（夜）市管理问题", "Morning or night market problem"),
    ("09003", "流浪乞讨", "Vagrancy and begging"),
    ("09005", "店外经营", "Trading outside the shop front"),
    ("09006", "占道经营", "Trading on the road"),
    ("09009", "机动车乱停放", "Illegally parked motor vehicle"),
    ("09010", "非机动车乱停放", "Illegally parked non-motor vehicle"),
    ("09011", "共享单车乱象", "Shared-bike disorder"),
    ("09012", "占用消防通道", "Blocked fire lane"),
    ("09015", "无证餐饮", "Unlicensed eatery"),
    ("09022", "占道促销宣传", "Street promotion occupying the road"),
    ("10001", "道路积雪、结冰", "Snow or ice on the road"),
    ("10002", "架空线缆脱落", "Fallen overhead cable"),
]

# The town's own scenes: what the standard's city-management list lacks (emergencies, public
# security, IoT and video scenes, livelihood and economy). Where the standard already names a
# scene it is used directly and NOT duplicated here: video AI "illegal parking" is 09009
# 机动车乱停放, shop-front trading 09005 店外经营, muck dumping 06011 积存垃圾渣土, garbage piles
# 06010 暴露垃圾, river floating waste 06025 水域不洁 (see DETECTION_TYPES). One category per
# thing keeps routing rules, deadlines and statistics in one place, and reports stay comparable
# with other towns on the standard.
# code, name, English, 大类 (name, English), default grade (1 特急 / 2 紧急 / 3 一般).
LOCAL_SCENES = [
    ("L0001", "火警", "Fire alarm", ("应急处置", "Emergency"), 1),
    ("L0002", "烟感告警", "Smoke-detector alarm", ("应急处置", "Emergency"), 1),
    ("L0003", "燃气泄漏告警", "Gas-leak alarm", ("应急处置", "Emergency"), 1),
    ("L0004", "人员落水", "Person in the water", ("应急处置", "Emergency"), 1),
    ("L0005", "交通事故", "Traffic accident", ("应急处置", "Emergency"), 2),
    ("L0006", "治安事件", "Public-security incident", ("平安综治", "Public security"), 2),
    ("L0007", "矛盾纠纷", "Dispute", ("平安综治", "Public security"), 3),
    ("L0008", "安全隐患", "Safety hazard", ("平安综治", "Public security"), 3),
    ("L0009", "人员聚集", "Crowd gathering", ("平安综治", "Public security"), 2),
    ("L0010", "群租房隐患", "Overcrowded rental housing", ("平安综治", "Public security"), 3),
    (
        "L0011",
        "电动自行车骑乘未戴头盔",
        "E-bike rider without a helmet",
        ("智慧防控", "Prevention"),
        3,
    ),
    ("L0012", "水质异常告警", "Water-quality alarm", ("智慧防控", "Prevention"), 2),
    ("L0013", "长者看护告警", "Elder-care alarm", ("民生服务", "Livelihood"), 2),
    ("L0014", "民生求助", "Request for help", ("民生服务", "Livelihood"), 3),
    ("L0015", "企业诉求", "Enterprise demand", ("经济服务", "Economy"), 3),
    ("L0099", "其他", "Other", ("其他", "Other"), 3),
]

# Default grades of standard categories that are urgent by nature (the rest are 3 一般).
STANDARD_GRADES = {
    ("matter", "10002"): 2,  # fallen overhead cable: danger to life
    ("matter", "09012"): 2,  # blocked fire lane
    ("matter", "01011"): 2,  # gas manhole cover fault
    ("matter", "01023"): 2,  # missing or broken manhole cover: people fall in
}

# The resident's 随手拍 picker: about ten everyday things, with an icon each, in this order.
# (kind, code) -> (sort, icon); icons are the names of Category.Icon, drawn as inline SVG.
RESIDENT_SHORT_LIST = {
    ("matter", "06010"): (10, "trash"),
    ("matter", "09009"): (20, "car"),
    ("matter", "09006"): (30, "stall"),
    ("matter", "06013"): (40, "road"),
    ("matter", "01037"): (50, "lamp"),
    ("matter", "06036"): (60, "box"),
    ("matter", "06028"): (70, "noise"),
    ("matter", "06025"): (80, "water"),
    ("matter", "07001"): (90, "poster"),
    ("scene", "L0008"): (100, "hazard"),
    ("scene", "L0007"): (110, "dispute"),
    ("scene", "L0099"): (120, "other"),
}

# Detection and alarm types of the machine sources, mapped to a category (kind, code).
DETECTION_TYPES = {  # video AI (智慧防控, DOMAIN.md)
    "illegal_parking": ("matter", "09009"),
    "shop_front_trading": ("matter", "09005"),
    "street_vending": ("matter", "09006"),
    "muck_dumping": ("matter", "06011"),
    "garbage_pile": ("matter", "06010"),
    "no_helmet": ("scene", "L0011"),
    "floating_waste": ("matter", "06025"),
    "overflowing_bin": ("matter", "06042"),
    "fire_lane_blocked": ("matter", "09012"),
    "fire": ("scene", "L0001"),
    "smoke": ("scene", "L0002"),
    "crowd": ("scene", "L0009"),
    "person_in_water": ("scene", "L0004"),
    "road_damage": ("matter", "06013"),
}
IOT_ALARM_TYPES = {
    "smoke": ("scene", "L0002"),
    "gas": ("scene", "L0003"),
    "door_still": ("scene", "L0013"),  # elder care: a door sensor that stays still
    "elder_sos": ("scene", "L0013"),
    "water_quality": ("scene", "L0012"),
    "manhole_tilt": ("matter", "01023"),
    "fire_hydrant_pressure": ("matter", "01013"),
}
ALARM_TYPES = {  # 110 / 119 linkage
    "110": {
        "public_security": ("scene", "L0006"),
        "dispute": ("scene", "L0007"),
        "traffic_accident": ("scene", "L0005"),
        "help": ("scene", "L0014"),
        "fire": ("scene", "L0001"),
        "_default": ("scene", "L0006"),
    },
    "119": {
        "fire": ("scene", "L0001"),
        "smoke": ("scene", "L0002"),
        "gas": ("scene", "L0003"),
        "rescue": ("scene", "L0004"),
        "_default": ("scene", "L0001"),
    },
}

# Deadlines (standards.md §1.6 and §5): (kind, code) or None for the default, grade or None,
# step, amount, unit. The most specific row wins (events.deadlines.policy_for).
DEFAULT_POLICIES = [
    # Default per step. 福州: 核实立案+派遣 ≤ 1 h in working hours, 签收 ≤ 1 h; 12345 (山东): 5 working days.
    (None, None, "register", 1, "work_hours"),
    (None, None, "accept", 1, "work_hours"),
    (None, None, "arrive", 2, "work_hours"),
    (None, None, "resolve", 5, "work_days"),
    # 紧急 (grade 2), natural minutes: 太原 立案+派遣 紧急 ≤ 10 min; an urgent case does not wait for Monday.
    (None, 2, "register", 10, "minutes"),
    (None, 2, "accept", 10, "minutes"),
    (None, 2, "arrive", 30, "minutes"),
    (None, 2, "resolve", 480, "minutes"),
    # 特急 (grade 1), the "135" rule: acknowledged in 1 minute, first responder on site in 3,
    # joint response in 5 — all counted from the report, not from the previous step. The
    # resolve step keeps the category's or the default row. "joint" has no Case column: its
    # due time is kept in case.extra["joint_due"] and met by a "join" (同圈联动) log entry.
    (None, 1, "register", 1, "minutes"),
    (None, 1, "accept", 1, "minutes"),
    (None, 1, "arrive", 3, "minutes"),
    (None, 1, "joint", 5, "minutes"),
    # Per category (§1.6 某区 立结案标准, 太原, 济源).
    (("matter", "06010"), None, "resolve", 4, "work_hours"),  # 暴露垃圾 4 工作时
    (("matter", "06012"), None, "resolve", 2, "work_hours"),  # 道路保洁 2 工作时
    (("matter", "06029"), None, "arrive", 60, "minutes"),  # 露天烧烤 1 h 到场 (太原)
    (("matter", "06029"), None, "resolve", 120, "minutes"),  # 2 h 办结
    (("matter", "06001"), None, "arrive", 4, "work_hours"),  # 私搭乱建 停工 4 工作时
    (("matter", "06001"), None, "resolve", 20, "work_days"),  # 拆除 20 工作日
    (("matter", "08016"), None, "resolve", 15, "work_days"),  # 违法搭建 15 工作日 (济源)
    (("matter", "06011"), None, "resolve", 4, "work_days"),  # 积存垃圾渣土 4 工作日 (济源)
    (("matter", "06025"), None, "resolve", 15, "work_days"),  # 水域不洁 15 工作日 (济源)
    (("matter", "06017"), None, "resolve", 5, "work_days"),  # 绿地养护 5 工作日
    (("matter", "01037"), None, "resolve", 1, "work_days"),  # 路灯不亮 1 工作日 (太原)
    (("component", "01037"), None, "resolve", 1, "work_days"),
    (("scene", "L0001"), None, "resolve", 240, "minutes"),  # fire: out and safe within 4 h
    (("scene", "L0002"), None, "resolve", 60, "minutes"),  # smoke alarm: checked on site within 1 h
    (
        ("scene", "L0013"),
        None,
        "arrive",
        30,
        "minutes",
    ),  # elder care: someone at the door in 30 min
]

# Working calendar: exceptions to Monday–Friday. SOURCE: 国务院办公厅关于2026年部分节假日安排的
# 通知 (2025-11-04). The State Council publishes the next year's table every November:
# admins must check these rows against the notice and add the next year in the admin
# (事件 › 工作日历) — a missing year silently counts every weekday as a working day.
# (date, is_workday, note)
CALENDAR_2026 = [
    *[(f"2026-01-0{d}", False, "元旦") for d in (1, 2, 3)],
    ("2026-01-04", True, "元旦调休上班"),
    ("2026-02-14", True, "春节调休上班"),
    *[(f"2026-02-{d}", False, "春节") for d in range(15, 24)],
    ("2026-02-28", True, "春节调休上班"),
    *[(f"2026-04-0{d}", False, "清明节") for d in (4, 5, 6)],
    *[(f"2026-05-0{d}", False, "劳动节") for d in (1, 2, 3, 4, 5)],
    ("2026-05-09", True, "劳动节调休上班"),
    *[(f"2026-06-{d}", False, "端午节") for d in (19, 20, 21)],
    ("2026-09-20", True, "国庆节调休上班"),
    *[(f"2026-09-{d}", False, "中秋节") for d in (25, 26, 27)],
    *[(f"2026-10-0{d}", False, "国庆节") for d in range(1, 8)],
    ("2026-10-10", True, "国庆节调休上班"),
]
