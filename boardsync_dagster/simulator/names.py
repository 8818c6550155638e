"""Chinese-looking names for boards and stocks. Only their look matters; none is meant to be accurate."""

from __future__ import annotations

import random


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


INDUSTRIES = _words(
    "银行 证券 保险 多元金融 房地产开发 房地产服务 工程建设 装修建材 水泥建材 玻璃玻纤 钢铁行业 有色金属 "
    "贵金属 能源金属 小金属 煤炭行业 石油行业 燃气 电力行业 公用事业 环保行业 化学原料 化学制品 化纤行业 "
    "化肥行业 农药兽药 塑料制品 橡胶制品 造纸印刷 包装材料 纺织服装 家用轻工 家电行业 食品饮料 酿酒行业 "
    "农牧饲渔 中药 化学制药 生物制品 医疗器械 医疗服务 医药商业 美容护理 商业百货 旅游酒店 教育 文化传媒 "
    "游戏 互联网服务 软件开发 计算机设备 通信设备 通信服务 半导体 电子元件 光学光电子 消费电子 电子化学品 "
    "电池 光伏设备 风电设备 电网设备 电源设备 电机 通用设备 专用设备 仪器仪表 工程机械 航天航空 船舶制造 "
    "汽车整车 汽车零部件 汽车服务 交运设备 铁路公路 航运港口 物流行业 航空机场 综合行业 贸易行业 珠宝首饰 "
    "工程咨询服务 专业服务 装修装饰 采掘行业 非金属材料"
)

# The very large concept boards of the real data, with their real codes and about their real sizes.
BIG_CONCEPTS = (
    ("BK0596", "融资融券", 3700),
    ("BK0707", "沪股通", 1500),
    ("BK0804", "深股通", 1400),
    ("BK0867", "富时罗素", 1300),
    ("BK0879", "标准普尔", 1100),
    ("BK0821", "MSCI中国", 700),
)

_CONCEPT_HEADS = _words(
    "人工智能 机器人 芯片 储能 锂电 氢能 光伏 风能 核电 算力 数据 云计算 量子 卫星 低空 无人机 脑机 "
    "基因 疫苗 创新药 医美 预制菜 白酒 乳业 宠物 电竞 元宇宙 虚拟现实 区块链 数字货币 跨境 物联网 "
    "智能驾驶 新能源车 充电桩 快充 固态电池 钠电池 碳中和 节能 环保 水利 一带一路 国企改革 军工 大飞机 "
    "航母 稀土 黄金 铜缆 光模块 存储 PCB 先进封装 光刻胶 传感器 激光 超导 石墨烯 智慧城市 网络安全 信创 "
    "鸿蒙 华为 小米 苹果 特斯拉 短剧 游戏 影视 体育 养老 托育 种业 粮食 猪肉 鸡肉 乡村振兴 海工"
)
_CONCEPT_TAILS = ("概念", "产业链", "", "应用", "设备", "材料", "服务", "龙头")

_NAME_CHARS = (
    "华中国大新海东天长金盛泰安宏通达信和富源兴嘉恒隆鑫瑞丰光明科德利美远晶电力能智航汽钢药酒银证"
    "江山河南北西湖广深川云贵星辰龙凤鹏飞腾宇博讯创联合精工环"
)
_NAME_SUFFIXES = ("股份", "科技", "电子", "药业", "集团", "控股", "实业", "能源", "材料", "智能", "", "")


def stock_name(rng: random.Random) -> str:
    suffix = rng.choice(_NAME_SUFFIXES)
    head = "".join(rng.choice(_NAME_CHARS) for _ in range(2 if suffix else 4))
    return head + suffix


def concept_names(rng: random.Random, count: int, taken: set[str]) -> list[str]:
    """count distinct concept names not in taken; a numeral suffix keeps them unique at large scales."""
    names: list[str] = []
    seen = set(taken)
    round_no = 0
    while len(names) < count:
        pool = [h + t for h in _CONCEPT_HEADS for t in _CONCEPT_TAILS]
        rng.shuffle(pool)
        for name in pool:
            candidate = name if round_no == 0 else f"{name}{round_no + 1}"
            if candidate not in seen:
                seen.add(candidate)
                names.append(candidate)
                if len(names) == count:
                    break
        round_no += 1
    return names


def industry_names(count: int) -> list[str]:
    return [
        INDUSTRIES[i % len(INDUSTRIES)] + ("" if i < len(INDUSTRIES) else str(i // len(INDUSTRIES) + 1))
        for i in range(count)
    ]
