"""Write core's English catalog (core/translations/en/LC_MESSAGES/messages.po).

Chinese is the source language (the msgids); this table is the English. Strings that are
declared in Python and translated at display time (menu labels, list titles, column labels,
permission labels) are listed here too, since pybabel cannot find them. Run after adding UI
text to the core; `scripts/i18n_check.sh` reports msgids without a translation.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po

EN = {
    # shell, login, home
    "登录": "Log in", "退出登录": "Log out", "首页": "Home", "欢迎，%(name)s": "Welcome, %(name)s",
    "用户名": "Username", "密码": "Password", "请输入用户名": "Enter your username",
    "请输入密码": "Enter your password", "用户名或密码错误。": "Wrong username or password.",
    "您已退出登录。": "You are logged out.", "请先登录。": "Please log in first.",
    "通知": "Notifications", "全部标为已读": "Mark all as read", "暂无通知": "No notifications",
    # menus
    "设置": "Settings", "应用": "Apps", "用户": "Users", "角色与权限": "Roles & permissions",
    "团队": "Teams", "系统设置": "System settings", "操作日志": "Audit log",
    "后台任务": "Background jobs",
    # apps page
    "已安装": "Installed", "未安装": "Not installed", "待升级": "Upgrade pending",
    "代码缺失": "Code missing", "安装中": "Installing", "卸载中": "Uninstalling",
    "版本": "Version", "已装": "installed", "依赖": "Depends on", "自动安装": "Auto-install",
    "安装": "Install", "升级": "Upgrade", "卸载": "Uninstall",
    "确认卸载并删除数据": "Uninstall and delete the data", "取消": "Cancel",
    # lists and forms
    "搜索": "Search", "全部": "all", "筛选": "Filter", "共 %(n)s 条": "%(n)s records",
    "是": "Yes", "否": "No", "没有记录": "No records", "上一页": "Previous", "下一页": "Next",
    "保存": "Save", "创建": "Create", "状态": "Status", "启用": "Active", "停用": "Inactive",
    "姓名": "Name", "企业微信账号 (userid)": "WeCom account (userid)", "手机号": "Mobile",
    "邮箱": "E-mail", "邮箱格式不正确": "Invalid e-mail address", "角色": "Roles",
    "密码（留空则不修改）": "Password (leave empty to keep)", "团队名称": "Team name",
    "请输入团队名称": "Enter a team name", "经理": "Manager", "成员": "Members",
    "没有团队": "No teams", "成员在用户编辑页设置团队。": "Members are set on the user page.",
    "新建团队": "New team", "编辑用户": "Edit user", "新建用户": "New user",
    "企业微信账号": "WeCom account", "最近登录": "Last login",
    # roles, settings, audit, jobs
    "权限": "Permission", "管理员拥有全部权限": "Admins hold every permission",
    "未设置": "not set", "密钥不会回显；留空表示不修改。":
        "Secrets are never shown; leave empty to keep the current value.",
    "环境变量": "Environment variable",
    "已安装的应用没有可配置的设置。": "The installed apps have no settings.",
    "时间": "Time", "操作人": "Actor", "来源": "Source", "对象": "Object", "记录": "Record",
    "操作": "Action", "变更": "Changes", "操作人ID": "Actor id", "起始日期": "From",
    "截止日期": "To", "网页": "Web", "机器人": "Bot", "命令行": "CLI", "系统": "System",
    "失败的任务": "Failed jobs", "任务": "Job", "参数": "Arguments", "错误": "Error",
    "运行方式": "Runner", "将自动重试": "will retry", "已重试": "retried", "重试": "Retry",
    "没有失败的任务": "No failed jobs", "已注册的任务": "Registered jobs", "计划": "Schedule",
    "队列": "Queue", "说明": "Description",
    # roles
    "管理员": "Administrator", "销售": "Sales", "工程师": "Engineer", "仓库": "Warehouse",
    # permissions of the core
    "查看用户": "View users", "管理用户": "Manage users", "管理角色与权限": "Manage roles",
    "管理团队": "Manage teams", "管理系统设置": "Manage settings",
    "查看操作日志": "View the audit log", "安装与卸载应用": "Install and uninstall apps",
    "查看与重试后台任务": "View and retry background jobs",
    # bot
    "可用命令：": "Commands:", "发送“#帮助 命令”查看某条命令的用法。":
        "Send “#帮助 COMMAND” for a command's usage.",
    "没有“#%(trigger)s”这个命令。": "There is no command “#%(trigger)s”.",
    "您好，我是 Tandem 机器人，请发送以 # 开头的命令。":
        "Hello, I am the Tandem bot: send a command starting with #.",
    "抱歉，处理您的消息时出错了，请稍后再试或联系管理员。":
        "Sorry, something went wrong with your message; try again later or ask an admin.",
    "这个按钮已失效，请在系统中操作。": "This button has expired; please use the web app.",
    "这张卡片已失效，请在系统中操作。": "This card has expired; please use the web app.",
    "操作：": "Actions: ", "查看详情": "Details", "已完成。": "Done.",
    "也可以写作：": "Also written as: ",
    "（您没有使用此命令的权限）": "(you may not use this command)",
    "企业微信账号待绑定": "WeCom account to bind",
    "您好！您的企业微信账号尚未绑定 Tandem 用户，暂时无法使用机器人。":
        "Hello! Your WeCom account is not bound to a Tandem user yet, so the bot cannot help you.",
    "已通知管理员为您绑定，请稍后再试。": "An admin has been asked to bind it; try again later.",
    "请联系管理员为您绑定。": "Please ask an admin to bind it.",
    "您的 Tandem 账号已停用，无法使用机器人。": "Your Tandem account is deactivated.",
    # timeline, kanban, audit sources
    "修改": "Update", "暂无记录": "Nothing recorded yet", "添加备注": "Add a note",
    "添加备注…": "Add a note…", "还有 %(n)s 条": "%(n)s more", "API": "API",
    "、": ", ",  # the list separator (roles of a user)
    "：": ": ",  # the colon after a label
    # bot dispatcher replies (English for users who chose it)
    "“#%(trigger)s”可用于多种记录，请写明编号（例如 %(examples)s）。":
        "“#%(trigger)s” works on several kinds of records: give the number "
        "(for example %(examples)s).",
    "请写明要操作的记录（例如 %(example)s），或在机器人发出的卡片之后再发送命令。":
        "Say which record (for example %(example)s), or send the command after a card the "
        "bot posted.",
    "请 @ 一位同事，例如：%(usage)s": "@ a colleague, for example: %(usage)s",
    "找不到同事“%(name)s”，请确认其已绑定 Tandem 账号。":
        "No colleague “%(name)s”: check that they are bound to a Tandem account.",
    "有多位同事叫“%(name)s”，请改用企业微信账号 @ 他。":
        "Several colleagues are called “%(name)s”: @ them by their WeCom account instead.",
    "企业微信用户 %(userid)s 向机器人发送了消息，但尚未绑定 Tandem 用户。"
    "请在用户管理中为其填写企业微信账号。":
        "WeCom user %(userid)s sent the bot a message but is not bound to a Tandem user. "
        "Enter the WeCom account in user management.",
}


def main() -> None:
    catalog = Catalog(locale="en", project="Tandem", domain="messages")
    for source, english in sorted(EN.items()):
        catalog.add(source, english)
    out = Path(__file__).resolve().parents[1] / "core/translations/en/LC_MESSAGES/messages.po"
    with out.open("wb") as fh:
        write_po(fh, catalog, sort_output=True)
    print(f"wrote {len(EN)} messages to {out}")


if __name__ == "__main__":
    main()
