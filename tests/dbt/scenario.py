"""Six snapshot days of three, then four boards, with every kind of change the models must follow.

Mon D1  first day: BK0001 银行, BK0002 证券 (industry), BK0100 机器人概念 (concept)
Tue D2  601288 joins BK0001; 600000 leaves BK0100
Wed D3  601398 leaves BK0001, but the sync is INCOMPLETE (BK0100 stored without 002747), so the day is ignored:
        no false exit of 002747, and 601398's exit counts from D4. A later test re-syncs D3 completely.
Thu D4  600000 re-enters BK0100; new board BK0101 低空经济
Fri D5  BK0002 deleted; 601398 re-enters BK0001; 002747 joins BK0101
        weekend: no snapshots
Mon D6  BK0100 renamed 人形机器人; 600000 leaves BK0001; 002747 leaves BK0101.
        D6 is synced twice: the first sync also had 600519 joining BK0101 and 002747 still in it.
"""

from datetime import date

from tests.dbt.raw_tables import Board

D1, D2, D3, D4, D5, D6 = (date(2026, 3, day) for day in (2, 3, 4, 5, 6, 9))

BANKS = ("600000", "600036", "601398")
BROKERS = ("600030", "000776", "601688")
ROBOTS = ("300024", "002747", "600000")

DAYS = {
    D1: [
        Board("BK0001", "银行", "industry", BANKS),
        Board("BK0002", "证券", "industry", BROKERS),
        Board("BK0100", "机器人概念", "concept", ROBOTS),
    ],
    D2: [
        Board("BK0001", "银行", "industry", (*BANKS, "601288")),
        Board("BK0002", "证券", "industry", BROKERS),
        Board("BK0100", "机器人概念", "concept", ("300024", "002747")),
    ],
    D3: [
        Board("BK0001", "银行", "industry", ("600000", "600036", "601288")),
        Board("BK0002", "证券", "industry", BROKERS),
        Board("BK0100", "机器人概念", "concept", ("300024", "002747")),
    ],
    D4: [
        Board("BK0001", "银行", "industry", ("600000", "600036", "601288")),
        Board("BK0002", "证券", "industry", BROKERS),
        Board("BK0100", "机器人概念", "concept", ROBOTS),
        Board("BK0101", "低空经济", "concept", ("300024", "000001")),
    ],
    D5: [
        Board("BK0001", "银行", "industry", ("600000", "600036", "601288", "601398")),
        Board("BK0100", "机器人概念", "concept", ROBOTS),
        Board("BK0101", "低空经济", "concept", ("300024", "000001", "002747")),
    ],
    D6: [
        Board("BK0001", "银行", "industry", ("600036", "601288", "601398")),
        Board("BK0100", "人形机器人", "concept", ROBOTS),
        Board("BK0101", "低空经济", "concept", ("300024", "000001")),
    ],
}

# What D3's first sync managed to store: BK0100 failed part-way.
D3_STORED = {"BK0100": ("300024",)}

D6_FIRST_SYNC = [
    *DAYS[D6][:2],
    Board("BK0101", "低空经济", "concept", ("300024", "000001", "002747", "600519")),
]
