{
    "name": "service_stock",
    "title": "售后 × 配件",
    "version": "1.0.0",
    "summary": "工单上申请配件（#申请配件）、配件审批与出库记入工单处理记录和使用配件",
    "category": "Integrations",
    "depends": ["service", "stock"],
    "auto_install": True,
    "sequence": 61,
}
