{
    "name": "stock",
    "title": "配件库存",
    "version": "1.0.0",
    "summary": "配件目录、仓库与车载库、库存流水、配件申请与审批、低库存预警、采购、盘点与调拨",
    "category": "Service",
    "depends": [],
    "application": True,
    "sequence": 40,
}
