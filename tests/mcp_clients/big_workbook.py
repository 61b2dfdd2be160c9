"""The workbook the big-read tests read: 1000 rows x 100 columns of numbers (100,000
cells) on a sheet named Data, written with openpyxl.

Run: python big_workbook.py PATH  (writes it there; run.sh does this for ts_sdk_test.mjs)
"""

import sys
from pathlib import Path

import openpyxl

BIG_ROWS, BIG_COLS = 1000, 100


def big_value(r: int, c: int) -> float:
    """The number in zero-based row r, column c (ts_sdk_test.mjs computes the same)."""
    return r * 1000 + c + (c % 4) * 0.25


def write_big(path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Data"
    for r in range(BIG_ROWS):
        ws.append([big_value(r, c) for c in range(BIG_COLS)])
    wb.save(path)


if __name__ == "__main__":
    write_big(Path(sys.argv[1]))
