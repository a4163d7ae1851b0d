"""The TUI's words in English and Chinese.

Screens write English and wrap it in :func:`tr`; :data:`ZH` holds the
Chinese. A test scans the TUI's sources so no wrapped text lacks a translation.
What the core and the plugins say (a refusal, a reminder's note, why a record
came back to the pool) is theirs to translate (:mod:`crm_core.i18n`): ``tr``
hands such a text to their catalogues.
"""

from __future__ import annotations

from typing import Any

from crm_core.api import Message, localize

LANGS = ("en", "zh")

ZH: dict[str, str] = {
    # navigation
    "My work": "我的工作",
    "Records": "客户列表",
    "Pool": "公海",
    "Dashboard": "仪表盘",
    "Team": "团队",
    "Help": "帮助",
    "Quit": "退出",
    "Palette": "命令",
    "palette": "命令",
    "Open the command palette": "打开命令面板",
    "Search for commands…": "搜索命令…",
    # my work
    "Reminders": "提醒",
    "My records by next action": "我的客户（按下一步）",
    "Overdue": "已逾期",
    "Due": "到期",
    "Task": "任务",
    "Record": "客户",
    "Next due": "下次跟进",
    "Last activity": "最近跟进",
    "Done": "完成",
    "Open": "打开",
    "Refresh": "刷新",
    "No open reminders.": "没有待办提醒。",
    "New reminder": "新提醒",
    "Task done": "任务已完成",
    "{n} overdue reminder(s)": "{n} 条提醒已逾期",
    "{n} record(s) return to the pool soon unless you follow up": (
        "{n} 个客户即将退回公海，请尽快跟进"
    ),
    "They are in your reminders (1).": "详见提醒列表（按 1）。",
    # lists
    "Kind": "类型",
    "Search": "搜索",
    "Search title, phone, e-mail or #id": "搜索名称、电话、邮箱或 #编号",
    "Stage": "阶段",
    "Owner": "负责人",
    "Title": "名称",
    "Sort": "排序",
    "Next page": "下一页",
    "Previous page": "上一页",
    "Filter": "筛选",
    "Clear filters": "清除筛选",
    "Page": "页",
    "more": "更多",
    "end": "结束",
    "No records.": "没有客户。",
    "Any": "全部",
    "Unowned": "无负责人",
    "newest": "最新",
    "oldest": "最早",
    "updated": "最近更新",
    "title": "名称",
    "idle": "最久未跟进",
    "Field filter (FIELD=VALUE)": "字段筛选（字段=值）",
    # -- record detail and forms
    "Fields": "字段",
    "Contacts": "联系人",
    "Deals": "商机",
    "Activities": "跟进记录",
    "Journal": "变更日志",
    "Why": "原因",
    "Field": "字段",
    "Value": "值",
    "Name": "姓名",
    "Phone": "电话",
    "E-mail": "邮箱",
    "Position": "职位",
    "Amount": "金额",
    "Expected close": "预计成交",
    "When": "时间",
    "Who": "操作人",
    "Action": "动作",
    "Change": "变更",
    "Reason": "原因说明",
    "No fields.": "没有字段。",
    "No contacts.": "没有联系人。",
    "No deals.": "没有商机。",
    "No activities yet.": "还没有跟进记录。",
    "No journal rows.": "没有变更记录。",
    "Workflow": "流程",
    "none": "无",
    "since": "自",
    "Rotations": "轮转次数",
    "Coming up": "接下来",
    "Nothing scheduled.": "没有计划中的动作。",
    "Notes": "备注",
    "version {n}": "版本 {n}",
    "archived": "已归档",
    "never": "从未",
    "Created {created} · in this stage since {entered} · last activity {last}": (
        "创建于 {created} · 进入本阶段 {entered} · 最近跟进 {last}"
    ),
    "Back": "返回",
    "Edit fields": "编辑字段",
    "Log activity": "记录跟进",
    "Add task": "添加任务",
    "Move stage": "变更阶段",
    "Release": "退回公海",
    "Convert": "转化",
    "Saved #{id}": "已保存 #{id}",
    "Activity logged": "已记录跟进",
    "Task added": "已添加任务",
    "Moved to {stage}": "已移到 {stage}",
    "Released to pool {pool}": "已退回公海 {pool}",
    "Converted to #{id}": "已转化为 #{id}",
    "No workflow is applied to this kind.": "这个类型没有应用流程。",
    "There is no other kind to convert into.": "没有可转化的其他类型。",
    "Save": "保存",
    "Cancel": "取消",
    "Edit #{id} {title}": "编辑 #{id} {title}",
    "* required. An empty input clears the field.": "* 必填。清空输入即清除该字段。",
    "Log an activity on #{id}": "记录 #{id} 的跟进",
    "Type": "方式",
    "Note": "内容",
    "Add a task on #{id}": "为 #{id} 添加任务",
    "tomorrow": "明天",
    "Due: +2d, +3h, +30m, tomorrow, 2026-03-14 (09:00) or 2026-03-14 15:30": (
        "到期：+2d、+3h、+30m、明天、2026-03-14（09:00）或 2026-03-14 15:30"
    ),
    "Move #{id} from {stage}": "变更 #{id} 的阶段（当前 {stage}）",
    "To stage": "目标阶段",
    "A lost stage needs one of the workflow's lost reasons.": (
        "移到流失阶段需填写流程规定的流失原因之一。"
    ),
    "Release #{id} to the pool": "把 #{id} 退回公海",
    "To pool": "退回到",
    "its workflow's pool": "流程默认公海",
    "* required: the next owner reads why it came back.": "* 必填：下一位负责人会看到退回原因。",
    "Type the reason for the release.": "请填写退回原因。",
    "Not offered:": "不可选：",
    "No move is allowed from {stage} now.": "当前无法从 {stage} 变更阶段。",
    # -- the API's refusals in the TUI's words (crm_core/tui/messages.py)
    "Moving to {stage} needs a reason: type one of {reasons}.": (
        "移到 {stage} 需要原因：请填写其中之一：{reasons}。"
    ),
    "{kind} has no pool in its workflow: choose a pool.": "{kind} 的流程没有公海：请选择一个公海。",
    "No workflow is applied to {kind}: an admin applies one.": (
        "{kind} 尚未应用流程：请管理员应用一个。"
    ),
    "Choose a kind before filtering on a field.": "按字段筛选前请先选择类型。",
    "Convert #{id} {title}": "转化 #{id} {title}",
    "Into": "转化为",
    "Other fields": "其他字段",
    "Deal title": "商机名称",
    "Deal amount": "商机金额",
    "A deal amount needs a deal title.": "填写商机金额时需要商机名称。",
    "Shared fields and contacts are copied; the record moves to its won stage.": (
        "共有字段和联系人会被复制；原客户移到成交阶段。"
    ),
    # -- pool
    "Claim": "领取",
    "In pool for": "入池时长",
    "Came back": "回流方式",
    "Why it came back": "回流原因",
    "released by its owner": "负责人退回",
    "returned by a rule": "规则收回",
    "created in the pool": "直接入池",
    "moved here": "转入",
    "You belong to no pool: an admin adds you in the workflow's pools.": (
        "你不属于任何公海：请管理员在流程的公海中加入你。"
    ),
    "{n} of {m} claims left today": "今日还可领取 {n}/{m} 个",
    "{n} claimed today": "今日已领取 {n} 个",
    "holding {n} of {m}": "持有 {n}/{m}",
    "holding {n}": "持有 {n}",
    "reclaim yours after {n} days": "退回的客户 {n} 天后才能再领",
    "Page {n}": "第 {n} 页",
    "{n} in the pool": "公海共 {n} 个",
    "enter claims and opens · c claims · o opens · n/p pages": (
        "回车 领取并打开 · c 领取 · o 打开 · n/p 翻页"
    ),
    "Claim and open": "领取并打开",
    "May claim": "可领取",
    "now": "现在",
    "not now": "暂不可领",
    "You held #{id} before: you may claim it again from {at}.": (
        "你之前持有过 #{id}：{at} 起才能再次领取。"
    ),
    "You have made today's {n} claims: you may claim again from {at}.": (
        "今天的 {n} 次领取已用完：{at} 起可以再领取。"
    ),
    "You hold the most records this pool allows: close or release one to claim more.": (
        "你持有的客户已达公海上限：结束或退回一个后才能再领取。"
    ),
    "Nothing waits in this pool.": "公海里暂时没有客户。",
    "This is the last page.": "已是最后一页。",
    "This is the first page.": "已是第一页。",
    "Claimed #{id} {title}: it is yours now.": "已领取 #{id} {title}，现在归你跟进。",
    "Pool: {name}": "公海：{name}",
    "Show the records waiting in {name}": "查看 {name} 中等待领取的客户",
    # -- dashboard
    "Funnel": "销售漏斗",
    "Records that reached each stage": "到达各阶段的客户数",
    "Growth": "客户增长",
    "New records per month": "每月新增客户",
    "Figures and alerts": "指标与预警",
    "Follow-up compliance": "跟进达标率",
    "No workflow is applied: the funnel has no stages to show.": (
        "尚未应用流程：漏斗没有阶段可显示。"
    ),
    "{n} here": "停留 {n}",
    "{p} came on": "转化 {p}",
    "total {n}": "累计 {n}",
    "Open records": "未结客户",
    "Idle records": "未跟进",
    "Kept up": "达标率",
    "No open records.": "没有未结客户。",
    "Idle: no activity for {n} days.": "未跟进：{n} 天内没有跟进记录。",
    "No dashboard file: start with crm tui --dashboard FILE.": (
        "没有仪表盘文件：用 crm tui --dashboard 文件 启动。"
    ),
    "below {v}": "低于 {v}",
    "above {v}": "高于 {v}",
    " or ": " 或 ",
    "Figure": "指标",
    "Current": "当前值",
    "Alert when": "预警条件",
    "alert": "预警",
    "ok": "正常",
    "{n} of {m} figures crossed their threshold.": "{m} 项指标中有 {n} 项超出阈值。",
    "no data in your scope": "你的范围内没有数据",
    "No {kind} records in your scope: none is yours or in your pools.": (
        "你的范围内没有{kind}：没有归你或在你公海中的记录。"
    ),
    "No {kind} records yet.": "还没有{kind}。",
    "No {kind} records visible to you ({n} exist).": "你看不到任何{kind}（共有 {n} 个）。",
    "Dashboard of {kind}": "{kind}仪表盘",
    "Funnel, growth and compliance of {kind}": "{kind}的漏斗、增长与跟进达标率",
    # -- team
    "away until {at}": "休假至 {at}",
    "Only managers and admins see the team": "只有经理和管理员可以查看团队",
    "Team {team}": "{team} 团队",
    "Everyone": "全部成员",
    "Operator": "业务员",
    "Role": "角色",
    "operator": "业务员",
    "manager": "经理",
    "admin": "管理员",
    "inactive": "已停用",
    "Idle {n}d+": "{n} 天未跟进",
    "Compliant": "跟进达标率",
    "Open tasks": "待办任务",
    "Overdue tasks": "逾期任务",
    "Updated": "更新",
    "Pick an operator to see their records.": "选择一位业务员查看其客户。",
    "Records of {name}, longest idle first": "{name} 的客户（最久未跟进在前）",
    "page {n}": "第 {n} 页",
    "Open record": "打开客户",
    "Reassign": "转交",
    "Validate workflow": "校验流程",
    "g: give the highlighted record to another user": "g：把选中的客户转交给其他人",
    "v: check a workflow file or folder": "v：校验流程文件或目录",
    "Pick a record of an operator first.": "请先选择一位业务员的客户。",
    "#{id} {title} now belongs to {owner}": "#{id} {title} 已转交给 {owner}",
    "Reassign #{id} {title} (now {owner})": "转交 #{id} {title}（当前负责人 {owner}）",
    "or type a user name, then enter": "或输入用户名后回车",
    "enter: give · escape: cancel": "回车：转交 · esc：取消",
    "Validate a workflow file": "校验流程文件",
    "a workflow file or folder": "流程文件或目录",
    "enter: check · escape: close": "回车：校验 · esc：关闭",
    "No file or folder at {path}": "找不到文件或目录：{path}",
    "No .yaml files in {path}": "{path} 中没有 .yaml 文件",
    "Checking…": "正在校验…",
    "valid": "有效",
    "{file}: workflow {name} for {kind}, stages {stages}": (
        "{file}：流程 {name}（{kind}），阶段 {stages}"
    ),
    "{n} problem(s) in {file}": "{file} 有 {n} 个问题",
    # -- a day of calls: row actions, snooze, copy, saved filters, undo, talking points
    "Activity logged on #{id}": "已记录 #{id} 的跟进",
    "Task added on #{id}": "已为 #{id} 添加任务",
    "Snooze": "稍后提醒",
    "Snooze: {note}": "稍后提醒：{note}",
    "In 1 hour": "1 小时后",
    "Tomorrow 09:00": "明天 09:00",
    "At a time I type below": "在下方输入的时间",
    "+2d, +3h, 2026-03-14 15:30 …": "+2d、+3h、2026-03-14 15:30 …",
    "Snoozed until {at}: {note}": "已推迟到 {at}：{note}",
    "1-9 or enter: choose · escape: cancel": "1-9 或回车：选择 · esc：取消",
    "Copy phone/e-mail": "复制电话/邮箱",
    "Copy to the clipboard": "复制到剪贴板",
    "Copied {value}": "已复制 {value}",
    "No phone or e-mail to copy.": "没有可复制的电话或邮箱。",
    "Saved filters": "常用筛选",
    "No saved filters yet.": "还没有保存的筛选。",
    "Save the current filter as… (name, enter)": "把当前筛选保存为…（输入名称后回车）",
    "1-9 or enter: recall · d: delete · tab: save current · escape: close": (
        "1-9 或回车：调用 · d：删除 · tab：保存当前筛选 · esc：关闭"
    ),
    "Filter {name} saved": "已保存筛选 {name}",
    "Filter {name} deleted": "已删除筛选 {name}",
    "Not offered here any more: {what}": "此处已不再提供：{what}",
    "Delete": "删除",
    "Next record": "下一个客户",
    "Previous record": "上一个客户",
    "This is the last record of the list.": "已是列表中的最后一个客户。",
    "This is the first record of the list.": "已是列表中的第一个客户。",
    "Opened on its own: there is no list to step through.": (
        "此客户不是从列表打开的，无法前后切换。"
    ),
    "Undo": "撤销",
    "Nothing to undo on this record in this session.": "本次会话中此客户没有可撤销的修改。",
    "Undone: the {what} of #{id}": "已撤销 #{id} 的{what}",
    "edit": "字段修改",
    "stage move": "阶段变更",
    "Talking points": "通话要点",
    "Talking points · {stage}": "通话要点 · {stage}",
    "No talking points for this stage.": "此阶段没有通话要点。",
    "Select": "选择",
    "{n} selected · g: reassign · x: release · space: unselect": (
        "已选 {n} 个 · g：转交 · x：退回公海 · 空格：取消选择"
    ),
    "g: give the selected records (or the highlighted one) to another user": (
        "g：把选中的客户（或当前客户）转交给其他人"
    ),
    "x: release the selected records (or the highlighted one) to a pool": (
        "x：把选中的客户（或当前客户）退回公海"
    ),
    "Reassign {n} records (now {owner})": "转交 {n} 个客户（当前负责人 {owner}）",
    "Done for {n}: {ids}; {tasks} open task(s) moved": (
        "已完成 {n} 个：{ids}；{tasks} 个待办任务随之转移"
    ),
    "Release {n} record(s) to a pool: {ids}": "把 {n} 个客户退回公海：{ids}",
    "Reason (others read it in the pool)": "原因（其他人会在公海中看到）",
    "Their workflow's pool": "其流程的公海",
    "Say why they go back: others read it in the pool.": "请说明退回原因：其他人会在公海中看到。",
    "enter: release · escape: cancel": "回车：退回 · esc：取消",
    # -- help
    "Close": "关闭",
    "Your first two minutes": "上手两分钟",
    # the first two minutes (crm_core/tui/walkthrough.py)
    "Press [b]3[/b] for the Pool: the records waiting for an owner. The cursor "
    "starts on one you may claim; one you may not claim yet shows from when you may.": (
        "按 [b]3[/b] 打开公海：等待领取的客户。光标停在你可以领取的客户上；"
        "暂时不能领取的显示何时起可以领取。"
    ),
    "Press [b]enter[/b] to claim the highlighted record and open it: it leaves the pool "
    "and is yours ([b]c[/b] claims it and stays on the list).": (
        "按 [b]enter[/b] 领取选中的客户并打开：它离开公海，归你跟进"
        "（按 [b]c[/b] 只领取，留在列表）。"
    ),
    "Press [b]a[/b] to log a call: type a note and press [b]enter[/b].": (
        "按 [b]a[/b] 记录电话跟进：写下备注后按 [b]enter[/b]。"
    ),
    "Press [b]m[/b] to move it on: the dialog offers the stages the workflow allows "
    "from here, the next one first, and says why the others are not offered; "
    "press [b]ctrl+s[/b].": (
        "按 [b]m[/b] 推进阶段：对话框只列出流程允许的阶段（下一阶段在最前），"
        "并说明其他阶段为何不可选；按 [b]ctrl+s[/b] 确认。"
    ),
    "Press [b]escape[/b] to go back, then [b]4[/b]: the Dashboard's funnel counts "
    "the record in its new stage.": (
        "按 [b]escape[/b] 返回，再按 [b]4[/b]：仪表盘的漏斗已把它计入新阶段。"
    ),
    "Keys everywhere": "全局按键",
    "switch screen: My work, Records, Pool, Dashboard, Team": (
        "切换页面：我的工作、客户列表、公海、仪表盘、团队"
    ),
    "this help": "本帮助",
    "refresh: read the screen again": "刷新：重新读取当前页面",
    "command palette: every action of the screen by name": "命令面板：按名称执行当前页面的任何操作",
    "next table or field": "下一个表格或输入框",
    "back, or close a dialog": "返回，或关闭对话框",
    "quit": "退出",
    "Your reminders, overdue first, then your records by next action.": (
        "你的提醒（逾期在前），然后是按下一步排序的客户。"
    ),
    "Every record you may see, by kind: search as you type, filter by stage, "
    "owner, pool or field, sort, and page through any number.": (
        "你能看到的所有客户，按类型：边输边搜，按阶段、负责人、公海或字段筛选，排序，任意翻页。"
    ),
    "The records waiting in your pools (公海), why each came back, and how "
    "many claims you have left today.": (
        "你所在公海中等待领取的客户、每个客户退回的原因，以及今天还能领取几个。"
    ),
    "The funnel and the trend, figures against their thresholds, the alerts "
    "that fired, and the plugins' cards; managers see their team's follow-ups.": (
        "漏斗和趋势图、指标与阈值、已触发的预警和插件卡片；经理可看到团队的跟进情况。"
    ),
    "Managers and admins: each operator's open records, idle records and "
    "overdue tasks; reassign a record; check a workflow file.": (
        "经理和管理员：每位业务员的未结客户、未跟进客户和逾期任务；转交客户；校验流程文件。"
    ),
    "One record (o or enter in a list): fields, contacts, deals, activities, "
    "journal, and why it is where it is.": (
        "单个客户（列表中按 o 或回车）：字段、联系人、商机、跟进记录、日志及现状原因。"
    ),
    "esc, F1 or q closes this help; arrows scroll": "esc、F1 或 q 关闭帮助；方向键滚动",
}


class Translator:
    """Turns the English of the screens into the operator's language."""

    def __init__(self, lang: str = "en") -> None:
        self.lang = lang if lang in LANGS else "en"

    def __call__(self, text: str, **values: Any) -> str:
        """``text`` in the operator's language, with ``{name}`` slots filled from ``values``.

        A text of the core or a plugin (a :class:`~crm_core.api.Message`, or
        English they stored) is said as their catalogues say it.
        """
        if isinstance(text, Message) and text.params:
            return text.render(self.lang)
        if self.lang == "zh":
            found = ZH.get(text)
            out = found if found is not None else localize(text, self.lang)
        else:
            out = str.__str__(text)
        return out.format(**values) if values else out

    def label(self, label: dict[str, str], fallback: str) -> str:
        """A plugin's ``{"en": ..., "zh": ...}`` label in the operator's language."""
        return label.get(self.lang) or label.get("en") or fallback
