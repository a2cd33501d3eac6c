"""The core's own registrations, made through the same hooks as any module's ``hooks.py``
(the registry loads this module by name, like a module's hooks)."""

from __future__ import annotations

from core import hookimpl
from core.bot.dispatcher import help_command
from core.notify.channels import BUILTIN_CHANNELS
from core.registration import BotCommand
from core.registration import JobSpec
from core.registration import MenuItem
from core.registration import Permission
from core.workspace import core_cards
from core.workspace import core_searchers


@hookimpl
def register_permissions() -> list[Permission]:
    return [
        Permission("core.user.read", "查看用户", ("manager",)),
        Permission("core.user.manage", "管理用户"),
        Permission("core.role.manage", "管理角色与权限"),
        Permission("core.team.manage", "管理团队"),
        Permission("core.settings.manage", "管理系统设置"),
        Permission("core.audit.read", "查看操作日志", ("manager",)),
        Permission("core.module.manage", "安装与卸载应用"),
        Permission("core.jobs.manage", "查看与重试后台任务"),
        Permission("core.webhook.manage", "管理数据变更推送（Webhook）"),
    ]


@hookimpl
def register_menus() -> list[MenuItem]:
    return [
        MenuItem("overview", "经营概览", "core_overview.overview", sequence=5,
                 icon="speedometer2"),
        MenuItem("settings", "设置", sequence=900, icon="gear"),
        MenuItem("settings.apps", "应用", "core_admin.apps", "settings", 10, "core.module.manage"),
        MenuItem("settings.users", "用户", "core_users.users", "settings", 20, "core.user.read"),
        MenuItem("settings.roles", "角色与权限", "core_users.roles", "settings", 30,
                 "core.role.manage"),
        MenuItem("settings.teams", "团队", "core_users.teams", "settings", 40, "core.team.manage"),
        MenuItem("settings.settings", "系统设置", "core_system.settings", "settings", 50,
                 "core.settings.manage"),
        MenuItem("settings.chats", "群聊用途", "core_system.chats", "settings", 55,
                 "core.settings.manage"),
        MenuItem("settings.audit", "操作日志", "core_system.audit", "settings", 60,
                 "core.audit.read"),
        MenuItem("settings.imports", "数据导入", "core_imports.index", "settings", 65),
        MenuItem("settings.jobs", "后台任务", "core_system.failed_jobs", "settings", 70,
                 "core.jobs.manage"),
        MenuItem("settings.webhooks", "数据推送", "core_webhooks.webhooks", "settings", 80,
                 "core.webhook.manage"),
    ]


@hookimpl
def register_bot_commands() -> list[BotCommand]:
    return [BotCommand("帮助", help_command, help="查看可用命令", usage="#帮助 [命令]",
                       aliases=("help",))]


@hookimpl
def register_jobs() -> list[JobSpec]:
    return [
        JobSpec("core.notify.deliver", "core.notify:deliver", description="发送一条通知"),
        JobSpec("core.imports.run", "core.imports:run_job", description="导入 Excel/CSV 文件",
                timeout=3600),
        JobSpec("core.outbox.relay", "core.notify:relay", schedule="* * * * *",
                description="补发未送出或待重试的通知"),
        JobSpec("core.changes.prune", "core.changes:prune", schedule="17 3 * * *",
                description="清理超过保留期的数据变更记录"),
        JobSpec("core.webhooks.relay", "core.changes.webhooks:relay", schedule="* * * * *",
                description="把新的数据变更推送给 Webhook 订阅，并重试失败的推送"),
        JobSpec("core.webhooks.deliver", "core.changes.webhooks:deliver",
                description="推送一条数据变更"),
    ]


@hookimpl
def register_notification_channels() -> list:
    return BUILTIN_CHANNELS




@hookimpl
def register_workspace_cards() -> list:
    return core_cards()


@hookimpl
def register_searchers() -> list:
    return core_searchers()
