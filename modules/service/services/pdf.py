"""The signed service report as a PDF (fpdf2, with a CJK font from ``service.pdf_font``)."""

from __future__ import annotations

import io
import os
from typing import Any

from fpdf import FPDF

from core.settings import get_setting

DEFAULT_FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
ROWS = [("工单号", "ticket_no"), ("客户", "customer"), ("服务地址", "address"),
        ("问题", "subject"), ("工程师", "engineer"), ("保修", "warranty"),
        ("故障原因", "root_cause"), ("解决方案", "solution"), ("使用配件", "parts_used"),
        ("服务时长（小时）", "service_hours"), ("上门费", "fee_visit"), ("人工费", "fee_labour"),
        ("配件费", "fee_parts"), ("合计", "total")]


def _font(pdf: FPDF) -> str:
    path = get_setting("service.pdf_font") or DEFAULT_FONT
    if path and os.path.exists(path):
        pdf.add_font("cjk", fname=path, collection_font_number=0)
        return "cjk"
    return "helvetica"  # no CJK font installed: the PDF still records the figures


def report_pdf(data: dict[str, Any], signature_png: bytes, signer: str, signed_at: str,
               version: int) -> bytes:
    pdf = FPDF(format="A4")
    pdf.add_page()
    family = _font(pdf)

    def text(value: str) -> str:
        return value if family == "cjk" else value.encode("latin-1", "replace").decode("latin-1")

    pdf.set_font(family, size=16)
    pdf.cell(0, 10, text(f"售后服务报告（第 {version} 版）"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, size=11)
    for label, key in ROWS:
        pdf.set_x(pdf.l_margin)
        pdf.multi_cell(0, 7, text(f"{label}：{data.get(key) or '—'}"), new_x="LMARGIN",
                       new_y="NEXT")
    pdf.ln(4)
    pdf.cell(0, 7, text(f"客户签字：{signer}    {signed_at}"), new_x="LMARGIN", new_y="NEXT")
    pdf.image(io.BytesIO(signature_png), w=70)
    return bytes(pdf.output())
