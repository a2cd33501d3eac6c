"""Names and addresses for the crm demo data: plausible company and person names (no
numeric suffixes) and addresses spread over real districts and streets of ten cities."""

from __future__ import annotations

import random

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余"
    "杜叶程魏苏吕丁任沈姚卢钟姜崔谭陆范汪廖石金贾夏付方邹熊白孟秦邱侯江尹薛闫段雷龙黎"
    "史陶贺毛郝顾龚邵万覃武钱戴严莫孔向常汤"
)
GIVEN = ("伟", "芳", "娜", "敏", "静", "磊", "洋", "勇", "艳", "杰", "军", "强", "丽", "涛",
         "明", "超", "秀英", "霞", "平", "刚", "桂英", "建华", "志强", "海燕", "晓东", "佳怡",
         "子涵", "浩然", "雨欣", "文博", "思远", "婷", "鹏", "斌", "辉", "宇", "欣怡", "俊杰",
         "国栋", "春梅", "立新", "德明", "玉兰", "红梅", "晨曦", "凯", "宏", "琳")
BRANDS = ("恒通", "盛安", "华泰", "鑫源", "瑞达", "博远", "中扬", "永信", "宏图", "新明", "金桥",
          "德润", "天合", "佳禾", "锦程", "信达", "同创", "嘉和", "华信", "东岳", "海联", "开元",
          "凯越", "明辉", "誉丰", "安诚", "联拓", "昊天", "广益", "泰和", "宝丰", "绿源", "启明",
          "万嘉", "九州", "星河", "润泽", "协力", "立信", "恒昌", "中盛", "富达", "长兴", "远景")
TRADES = ("机电设备有限公司", "制冷工程有限公司", "环保科技有限公司", "建设集团有限公司",
          "物业服务有限公司", "酒店管理有限公司", "食品有限公司", "医疗器械有限公司",
          "精密制造有限公司", "商业管理有限公司", "实业有限公司", "电子科技有限公司",
          "置业有限公司", "冷链物流有限公司", "生物科技有限公司", "纺织有限公司")
# city → district → streets
PLACES: dict[str, dict[str, tuple[str, ...]]] = {
    "上海": {"浦东新区": ("张江路", "世纪大道", "金桥路", "川沙路"),
           "闵行区": ("虹梅路", "春东路", "莘庄工业区申富路"),
           "徐汇区": ("漕溪北路", "虹漕路", "田林路"), "嘉定区": ("曹安公路", "叶城路")},
    "北京": {"朝阳区": ("建国路", "酒仙桥路", "望京街"), "海淀区": ("中关村大街", "上地信息路"),
           "丰台区": ("汉威路", "南四环西路"), "大兴区": ("经海路", "荣华南路")},
    "广州": {"天河区": ("天河路", "黄埔大道西", "科韵路"), "番禺区": ("市桥街", "汉溪大道"),
           "白云区": ("机场路", "云城西路")},
    "深圳": {"南山区": ("高新南一道", "科技南路", "后海大道"), "宝安区": ("宝安大道", "新湖路"),
           "龙岗区": ("龙城大道", "坂田五和大道")},
    "杭州": {"西湖区": ("文三路", "天目山路"), "滨江区": ("江南大道", "滨安路"),
           "余杭区": ("文一西路", "五常大道")},
    "苏州": {"工业园区": ("星湖街", "金鸡湖大道"), "吴中区": ("东吴北路", "宝带西路"),
           "相城区": ("阳澄湖大道",)},
    "南京": {"江宁区": ("将军大道", "双龙大道"), "鼓楼区": ("中山北路", "湖南路"),
           "建邺区": ("江东中路",)},
    "成都": {"高新区": ("天府大道", "天府三街"), "武侯区": ("武侯大道", "一环路南四段"),
           "锦江区": ("东大街",)},
    "武汉": {"洪山区": ("珞喻路", "雄楚大道"), "东湖高新区": ("光谷大道", "高新大道"),
           "江汉区": ("建设大道",)},
    "宁波": {"鄞州区": ("天童南路", "鄞县大道"), "北仑区": ("明州路", "新大路"),
           "海曙区": ("中山西路",)},
}
CITIES = tuple(PLACES)


def person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


def address(rng: random.Random, city: str | None = None) -> str:
    """``上海市浦东新区张江路 665 号 3 栋 502 室`` (the building part sometimes)."""
    city = city or rng.choice(CITIES)
    district = rng.choice(list(PLACES[city]))
    street = rng.choice(PLACES[city][district])
    line = f"{city}市{district}{street}{rng.randrange(1, 1200)}号"
    if rng.random() < 0.5:
        line += f"{rng.randrange(1, 12)}栋{rng.randrange(1, 25)}{rng.randrange(1, 9):02d}室"
    return line


class Names:
    """Unique company and person names from one seeded generator."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def _unique(self, make: object) -> str:
        for _ in range(200):
            name = make()  # type: ignore[operator]
            if name not in self.used:
                self.used.add(name)
                return name
        raise RuntimeError("demo names exhausted")

    def company(self, city: str) -> str:
        return self._unique(lambda: f"{city}{self.rng.choice(BRANDS)}{self.rng.choice(TRADES)}")

    def person(self) -> str:
        return self._unique(lambda: person_name(self.rng))
