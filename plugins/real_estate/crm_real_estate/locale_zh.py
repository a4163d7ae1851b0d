"""The real estate plugin's messages in Chinese: English message id → translation (slots kept)."""

MESSAGES: dict[str, str] = {
    # record checks
    "is {low}, above budget_max {high}": "为 {low}，高于预算上限 {high}",
    "give a phone or an e-mail": "请填写电话或邮箱",
    "cannot be cleared while the buyer is {stage}": "客户处于 {stage} 阶段时不能清除",
    # reports
    "{name} reports on buyers: leave out --kind or give --kind {kind}": (
        "{name} 只统计购房客户：请去掉 --kind 或使用 --kind {kind}"
    ),
    # the needs panel
    "not given": "未填写",
    "from {low:,.0f}": "{low:,.0f} 起",
    "up to {high:,.0f}": "至多 {high:,.0f}",
    "Budget {budget}": "预算 {budget}",
    "{n} rooms": "{n} 居室",
    "Interested in {project}": "意向楼盘 {project}",
    "Viewings: {n} (last {last})": "带看：{n} 次（最近 {last}）",
    "Viewings: none yet": "带看：还没有",
    "Member: [b]{level}[/b], {points:,} points": "会员：[b]{level}[/b]，积分 {points:,}",
    "[red]A complaint is open[/red]: the buyer stays out of the pool": (
        "[red]有未结投诉[/red]：该客户不会退回公海"
    ),
    # the funnel card
    "{stage:<13} {now:>5}  reached {reached:>5} [b]{rate:>5}[/b]": (
        "{stage:<13} {now:>5}  累计到达 {reached:>5} [b]{rate:>5}[/b]"
    ),
    "buyers": "购房客户",
    "{first_stage} → {last_stage}: {last} of {first} ({overall})": (
        "{first_stage} → {last_stage}：{first} 个中 {last} 个（{overall}）"
    ),
}
