"""Smoke test of bench/cold_start.py: its rows run and its table is built (no timing
assertion; the real figures come from ``python bench/cold_start.py --repeats 5``)."""

import cold_start


def test_rows_cover_the_report():
    names = [r.name for r in cold_start.rows(numba=True)]
    assert names[0] == "import"
    for name in ("a9a LogisticRegression", "digits LogisticRegression",
                 "a9a minimize lbfgs", "a9a minimize newton", "a9a minimize adam",
                 "fastopt fit a9a (command)"):
        assert name in names and f"{name} [numba]" in names
    numba_rows = [r for r in cold_start.rows(numba=True) if r.name.endswith("[numba]")]
    assert all(r.env == {"FASTOPT_BACKEND": "numba"} for r in numba_rows)
    assert not any(r.name.endswith("[numba]") for r in cold_start.rows(numba=False))


def test_cheap_rows_run_once_and_make_a_table():
    table = [r for r in cold_start.rows(numba=False)
             if r.name in ("import", "fastopt fit a9a (command)")]
    cold_start.measure(table, repeats=1)
    assert not any(r.error for r in table), [r.error for r in table]
    assert len(table[0].fastopt_times) == 1 and len(table[0].peer_times) == 1
    text = cold_start.build_table(table)
    lines = text.splitlines()
    assert lines[0].split()[:2] == ["row", "fastopt"] and len(lines) == 4
    assert lines[2].startswith("import") and lines[3].startswith("fastopt fit a9a")


def test_table_shows_ratio_difference_and_failures():
    ok = cold_start.Row("x", [], "peer", [], fastopt_times=[1.0, 3.0, 2.0],
                        peer_times=[1.0, 1.0, 1.0])
    alone = cold_start.Row("y", [], fastopt_times=[0.5])
    failed = cold_start.Row("z", [], error="exit status 1: boom")
    lines = cold_start.build_table([ok, alone, failed]).splitlines()
    assert "2.000 (1.00-3.00)" in lines[2] and "2.00" in lines[2].split()[-2:]
    assert lines[2].rstrip().endswith("+1.000")
    assert lines[3].split()[-2:] == ["-", "-"]
    assert "FAILED: exit status 1: boom" in lines[4]


def test_a_failing_process_is_reported_not_raised():
    row = cold_start.Row("bad", cold_start._python("raise SystemExit(3)"))
    cold_start.measure([row], repeats=2)
    assert row.error.startswith("exit status 3") and row.fastopt_times == []
