"""The account's parts of ``crm tui``: list columns, the value panel, the pipeline card.

Rendered through the API as the TUI renders them (``Crm.render_panel``,
``Crm.render_card``).
"""

from __future__ import annotations

from collections.abc import Callable

from crm_b2b_accounts.opportunities import add_opportunity

from crm_core.api import Crm

AddAccount = Callable[..., int]


def test_account_lists_show_company_industry_region_and_type(crm: Crm) -> None:
    columns = [(c.field, c.width) for c in crm.list_columns("account")]
    assert columns == [("company", 22), ("industry", 14), ("region", 10), ("type", 12)]
    assert [p.name for p in crm.detail_panels("account")] == ["value"]
    assert "b2b_pipeline" in [c.name for c in crm.dashboard_cards()]


def test_the_value_panel_gives_the_abc_class_revenue_and_sales_motions(
    b2b: Crm, add_account: AddAccount
) -> None:
    big = add_account("Big Co", owner="wang", margin=0.4, key_account=True)
    middle = add_account("Middle Co", owner="wang")
    small = add_account("Small Co", owner="li")
    for account, amount in ((big, "8000"), (middle, "1500"), (small, "500")):
        b2b.add_deal("admin", account, "first order", amount=amount, stage="won")
    add_opportunity(b2b, "admin", big, "spare parts", motion="cross_sell", amount="1000")
    b2b.add_deal("admin", big, "lost bid", amount="700", stage="lost")
    assert b2b.render_panel("admin", big, "value") == "\n".join([
        "[b]Class A[/b] by won revenue (CNY)",
        "Won: 8,000.00 CNY   Open pipeline: 1,000.00 CNY",
        "Deals: 3 (2 new business, 1 cross-sell, 0 up-sell)",
        "Gross margin: 40%",
        "[yellow]Key account[/yellow]: never returned to the pool",
    ])  # fmt: skip
    # 8000 before it is 80 % of all won revenue: B; 9500 before it is 95 %: C
    assert b2b.render_panel("admin", middle, "value").startswith("[b]Class B[/b]")
    assert b2b.render_panel("admin", small, "value").startswith("[b]Class C[/b]")
    # li sees only Small Co: among the accounts li may see, it makes all the revenue
    assert b2b.render_panel("li", small, "value").startswith("[b]Class A[/b]")


def test_an_account_without_won_deals_has_no_class(b2b: Crm, add_account: AddAccount) -> None:
    account = add_account("New Co", owner="wang")
    assert b2b.render_panel("wang", account, "value") == "\n".join([
        "[b]No class yet[/b]: no won revenue",
        "Won: 0   Open pipeline: 0",
        "Deals: 0 (0 new business, 0 cross-sell, 0 up-sell)",
    ])  # fmt: skip


def test_the_pipeline_card_weighs_open_deals_by_stage(b2b: Crm, add_account: AddAccount) -> None:
    assert b2b.render_card("admin", "b2b_pipeline") == "[dim]No accounts yet.[/dim]"
    lead = add_account("A1", owner="wang")
    qualified = add_account("A2", owner="zhang", industry="steel", region="west")
    b2b.move_record("admin", qualified, "qualified")
    b2b.add_deal("admin", lead, "open, lead", amount="1000.00")
    b2b.add_deal("admin", lead, "tracked at proposal", amount="333.33", stage="proposal")
    b2b.add_deal("admin", qualified, "open", amount="2000.01")
    b2b.add_deal("admin", qualified, "won", amount="99", stage="won")
    report = b2b.run_report("admin", "b2b_pipeline")
    assert b2b.render_card("admin", "b2b_pipeline") == "\n".join([
        "lead            2 deals       1333.33  weighted [b]      266.67[/b]",
        "qualified       1 deals       2000.01  weighted [b]      500.00[/b]",
        "[b]Weighted pipeline: 766.67[/b]",
        f"[dim]{report.notes[0]}[/dim]",
    ])  # fmt: skip
    assert "766.67" in report.notes[0]  # the card's total is the report's
    assert "qualified" not in b2b.render_card("wang", "b2b_pipeline")


def test_the_pipeline_card_says_why_it_cannot_weigh(team: Crm, add_account: AddAccount) -> None:
    add_account("A1", owner="wang")
    card = team.render_card("admin", "b2b_pipeline")
    assert card.startswith("[dim]no workflow is applied to account")
