"""``consent records ...``: export, show, texts, prune, stats, migrate; exit codes 0/1/2."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import anyio
import pytest

from consent.cli import CSV_COLUMNS, main
from consent.records import SCHEMA_VERSION, ConsentRecord, open_store, texts_hash
from tests.records.helpers import T0, TEXTS, make_record


def fill(url: str, records: list[ConsentRecord], *, with_texts: bool = True) -> None:
    async def write() -> None:
        async with open_store(url) as store:
            await store.write(records)
            if with_texts:
                await store.put_texts(texts_hash(TEXTS), TEXTS)

    anyio.run(write)


def create(url: str) -> str:
    """An empty store at ``url`` (the CLI reads only databases that exist)."""
    assert main(["records", "migrate", "--url", url]) == 0
    return url


@pytest.fixture
def records() -> list[ConsentRecord]:
    return [make_record(i, when=T0 + timedelta(days=i)) for i in range(6)]


def test_export_csv(
    store_url: str, records: list[ConsentRecord], capsys: pytest.CaptureFixture[str]
) -> None:
    fill(store_url, records)
    assert main(["records", "export", "--url", store_url, "--batch-size", "2"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [row[0] for row in rows[1:]] == [r.record_id for r in records]
    first = dict(zip(CSV_COLUMNS, rows[1], strict=True))
    assert first["granted"] == "analytics necessary"
    assert first["recorded_at"] == "2025-01-01T12:00:00.000000Z"
    assert first["ip_prefix"] == "203.0.113.0/24"
    assert first["gpc"] == "false"


def test_export_and_show_the_services(
    store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = [
        make_record(0, consent_id="alice", method="allow_service", services=("youtube",)),
        make_record(1, consent_id="alice", method="custom", services=("vimeo", "youtube")),
        make_record(2, consent_id="alice"),
    ]
    fill(store_url, records)
    assert main(["records", "export", "--url", store_url]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    # Appended in the order they came: the columns of earlier versions keep their places.
    assert rows[0][-4:] == ["services", "jurisdiction", "policy", "variant"]
    exported = [dict(zip(CSV_COLUMNS, row, strict=True)) for row in rows[1:]]
    assert [(r["method"], r["services"]) for r in exported] == [
        ("allow_service", "youtube"),
        ("custom", "vimeo youtube"),
        ("accept_all", ""),
    ]
    out = tmp_path / "export.jsonl"
    argv = ["records", "export", "--url", store_url, "--format", "jsonl", "--output", str(out)]
    assert main(argv) == 0
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [line["services"] for line in lines] == [["youtube"], ["vimeo", "youtube"], []]
    assert [ConsentRecord.from_dict(line) for line in lines] == records

    assert main(["records", "show", "alice", "--url", store_url]) == 0
    shown = capsys.readouterr().out
    assert "  services:     youtube\n" in shown
    assert "  services:     vimeo, youtube\n" in shown
    assert "  services:     -\n" in shown
    assert main(["records", "show", "alice", "--url", store_url, "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert [r["services"] for r in document["records"]] == [["youtube"], ["vimeo", "youtube"], []]
    assert main(["records", "stats", "--url", store_url, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["methods"]["allow_service"] == 1


#: Decisions from several places under several policies (index: what the tests name).
PLACES = [
    ("DE", "opt_in", "banner"),
    ("US-CA", "us", "notice"),
    ("US", "us", "banner"),
    ("US-NY", "us", "gpc"),
    ("FR", "opt_in", "preferences"),
    ("", "", ""),  # recorded before jurisdictions existed
    ("US-CA", "us", "api"),
    ("GB", "uk", "banner"),
]


@pytest.fixture
def placed() -> list[ConsentRecord]:
    return [
        make_record(i, jurisdiction=place, policy=policy, variant=variant)
        for i, (place, policy, variant) in enumerate(PLACES)
    ]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ([], [0, 1, 2, 3, 4, 5, 6, 7]),
        (["--jurisdiction", "US"], [1, 2, 3, 6]),  # the country and its regions
        (["--jurisdiction", "us-ca"], [1, 6]),  # any case; a region matches exactly
        (["--jurisdiction", "DE", "--jurisdiction", "US-NY"], [0, 3]),
        (["--policy", "opt_in"], [0, 4]),
        (["--policy", "uk", "--policy", "opt_in"], [0, 4, 7]),
        (["--jurisdiction", "US", "--policy", "opt_in"], []),
        (["--jurisdiction", "US", "--policy", "us", "--since", "2025-01-01T12:02:00Z"], [2, 3, 6]),
        (["--jurisdiction", "ES"], []),
    ],
)
def test_export_filters_by_jurisdiction_and_policy(
    store_url: str,
    placed: list[ConsentRecord],
    filters: list[str],
    expected: list[int],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fill(store_url, placed)
    assert main(["records", "export", "--url", store_url, "--batch-size", "2", *filters]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert tuple(rows[0]) == CSV_COLUMNS
    exported = [dict(zip(CSV_COLUMNS, row, strict=True)) for row in rows[1:]]
    assert [r["record_id"] for r in exported] == [placed[i].record_id for i in expected]
    assert [(r["jurisdiction"], r["policy"], r["variant"]) for r in exported] == [
        PLACES[i] for i in expected
    ]
    out = tmp_path / "export.jsonl"
    argv = ["records", "export", "--url", store_url, "--format", "jsonl", "-o", str(out)]
    assert main([*argv, *filters]) == 0
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [ConsentRecord.from_dict(line) for line in lines] == [placed[i] for i in expected]
    assert [(r["jurisdiction"], r["policy"], r["variant"]) for r in lines] == [
        PLACES[i] for i in expected
    ]


def test_show_and_stats_name_jurisdiction_policy_and_variant(
    store_url: str, placed: list[ConsentRecord], capsys: pytest.CaptureFixture[str]
) -> None:
    fill(store_url, [*placed, make_record(9, consent_id="visitor-1", method="acknowledge")])
    assert main(["records", "show", "visitor-1", "--url", store_url]) == 0
    shown = capsys.readouterr().out
    assert "  jurisdiction: US-CA\n  policy:       us\n  variant:      notice\n" in shown
    assert "  jurisdiction: -\n  policy:       -\n  variant:      -\n" in shown  # unknown
    assert main(["records", "show", "visitor-1", "--url", store_url, "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert [(r["jurisdiction"], r["policy"], r["variant"]) for r in document["records"]] == [
        ("US-CA", "us", "notice"),
        ("", "", ""),
    ]
    assert main(["records", "stats", "--url", store_url]) == 0
    lines = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert ["policy", "count", "share"] in lines
    assert ["us", "4", "44.4%"] in lines
    assert ["(unknown)", "2", "22.2%"] in lines
    assert ["acknowledge", "1", "11.1%"] in lines
    assert main(["records", "stats", "--url", store_url, "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["policies"] == {"": 2, "opt_in": 2, "uk": 1, "us": 4}


def test_stats_without_recorded_policies_has_no_policy_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path}/r.db"
    fill(url, [make_record(0), make_record(1)])
    assert main(["records", "stats", "--url", url]) == 0
    assert "policy" not in capsys.readouterr().out


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--jurisdiction", "USA"),
        ("--jurisdiction", "U"),
        ("--jurisdiction", ""),
        ("--jurisdiction", "US-"),
        ("--jurisdiction", "US-CALI"),
        ("--jurisdiction", "US_CA"),
        ("--jurisdiction", "US CA"),
        ("--jurisdiction", "1S"),
        ("--jurisdiction", "\u00dcS"),
        ("--jurisdiction", "\u00df\u00df"),  # upper-cases to SSSS: not ASCII letters
        ("--jurisdiction", "US\n"),
        ("--jurisdiction", "U%"),
        ("--policy", ""),
        ("--policy", "opt in"),
        ("--policy", "opt.in"),
        ("--policy", "p" * 65),
        ("--policy", "us%"),
        ("--policy", "\udcff"),  # an undecodable byte in argv
    ],
)
def test_bad_filters_are_usage_errors(
    option: str, value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path}/r.db"
    fill(url, [make_record(0, jurisdiction="US", policy="us")])
    assert main(["records", "export", f"{option}={value}", "--url", url]) == 2
    out, err = capsys.readouterr()
    assert out == ""  # nothing exported
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert err.startswith(f"consent records export: error: argument {option}: ")
    kind = "jurisdiction code" if option == "--jurisdiction" else "policy name"
    assert f"is not a {kind}" in err


def test_export_jsonl_with_a_time_range_to_a_file(
    store_url: str, records: list[ConsentRecord], tmp_path: Path
) -> None:
    fill(store_url, records)
    out = tmp_path / "export.jsonl"
    argv = ["records", "export", "--url", store_url, "--format", "jsonl"]
    argv += ["--since", "2025-01-02", "--until", "2025-01-04", "--output", str(out)]
    assert main(argv) == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    exported = [ConsentRecord.from_dict(json.loads(line)) for line in lines]
    assert exported == records[1:4]  # --until names the last day included


def test_export_neutralises_spreadsheet_formulas(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path}/r.db"
    fill(url, [make_record(0, user_agent='=HYPERLINK("http://evil")')])
    assert main(["records", "export", "--url", url]) == 0
    row = list(csv.reader(io.StringIO(capsys.readouterr().out)))[1]
    assert row[CSV_COLUMNS.index("user_agent")] == '\'=HYPERLINK("http://evil")'


def test_export_streams_many_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path}/r.db"
    fill(url, [make_record(i, when=T0 + timedelta(seconds=i)) for i in range(3000)])
    assert (
        main(["records", "export", "--url", url, "--format", "jsonl", "--batch-size", "250"]) == 0
    )
    assert len(capsys.readouterr().out.splitlines()) == 3000


def test_show_prints_history_with_texts(store_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    history = [
        make_record(1, consent_id="alice"),
        make_record(2, consent_id="alice", method="withdraw", granted=("necessary",)),
    ]
    fill(store_url, [*history, make_record(3, consent_id="bob")])
    assert main(["records", "show", "alice", "--url", store_url]) == 0
    out = capsys.readouterr().out
    assert "consent id alice: 2 decision(s)" in out
    assert "accept_all" in out
    assert "withdraw" in out
    assert "banner.title: Cookies?" in out
    assert "(as above)" in out
    assert "bob" not in out

    assert main(["records", "show", "alice", "--url", store_url, "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert [r["method"] for r in document["records"]] == ["accept_all", "withdraw"]
    assert document["texts"] == {texts_hash(TEXTS): TEXTS}


def test_show_unknown_visitor(store_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["records", "show", "nobody", "--url", create(store_url)]) == 1
    assert "no records for consent id 'nobody'" in capsys.readouterr().err


def test_texts_by_hash(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path}/r.db"
    fill(url, [])
    assert main(["records", "texts", texts_hash(TEXTS), "--url", url]) == 0
    assert json.loads(capsys.readouterr().out) == TEXTS
    assert main(["records", "texts", "0" * 64, "--url", url]) == 1


def test_prune_dry_run_then_for_real(store_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    now = datetime.now(timezone.utc)
    old = [make_record(i, when=now - timedelta(days=500 + i)) for i in range(3)]
    fresh = [make_record(9, when=now - timedelta(days=10))]
    fill(store_url, old + fresh)
    assert main(["records", "prune", "--older-than", "400d", "--dry-run", "--url", store_url]) == 0
    assert capsys.readouterr().out.startswith("would delete 3 record(s)")
    assert main(["records", "prune", "--older-than", "400d", "--url", store_url]) == 0
    assert capsys.readouterr().out.startswith("deleted 3 record(s)")
    cutoff = (now - timedelta(days=5)).date().isoformat()
    assert main(["records", "prune", "--older-than", cutoff, "--url", store_url]) == 0
    assert capsys.readouterr().out.startswith("deleted 1 record(s)")


def test_stats(store_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    fill(
        store_url,
        [
            make_record(0, method="accept_all", granted=("analytics", "necessary"), denied=()),
            make_record(1, method="reject_all", granted=("necessary",), denied=("analytics",)),
            make_record(2, method="reject_all", granted=("necessary",), denied=("analytics",)),
            make_record(3, method="custom", granted=("analytics", "necessary"), denied=()),
        ],
    )
    assert main(["records", "stats", "--url", store_url, "--since", "2025-01-01"]) == 0
    out = capsys.readouterr().out
    assert "decisions 2025-01-01T00:00:00.000000Z .. now: 4" in out
    assert any(line.split() == ["analytics", "2", "4", "50.0%"] for line in out.splitlines())
    assert any(line.split() == ["reject_all", "2", "50.0%"] for line in out.splitlines())

    assert main(["records", "stats", "--url", store_url, "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["decisions"] == 4
    assert document["methods"] == {"accept_all": 1, "custom": 1, "reject_all": 2}
    analytics = next(c for c in document["categories"] if c["key"] == "analytics")
    assert analytics == {"key": "analytics", "granted": 2, "denied": 2, "decisions": 4, "rate": 0.5}


def test_migrate_reports_the_version(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["records", "migrate", "--url", f"sqlite:///{tmp_path}/new.db"]) == 0
    assert f"schema version {SCHEMA_VERSION}" in capsys.readouterr().out


def test_url_comes_from_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path}/env.db"
    fill(url, [make_record(0)])
    monkeypatch.setenv("CONSENT_RECORDS__URL", url)
    assert main(["records", "export", "--format", "jsonl"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["records"],
        ["records", "explode"],
        ["records", "prune"],
        ["records", "prune", "--older-than", "soon"],
        ["records", "prune", "--older-than", "0d"],
        ["records", "export", "--since", "yesterday"],
        ["records", "export", "--format", "xml"],
        ["records", "export", "--since", "2025-02-01", "--until", "2025-01-01"],
        ["records", "export", "--url", "mysql://db/x"],
    ],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "error" in err
    assert len(err.strip().splitlines()) == 1


def test_invalid_settings_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CONSENT_RECORDS__URL", "ftp://nowhere")
    assert main(["records", "stats"]) == 2
    err = capsys.readouterr().err
    assert "invalid settings: records.url: Value error, must start with" in err
    assert len(err.strip().splitlines()) == 1


def test_invalid_model_wide_settings_are_one_line_without_the_secret(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CONSENT_SECRET_KEY", "short-secret")
    assert main(["records", "stats"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "consent: error: invalid settings: "
        "Value error, secret_key: use at least 16 characters (32 random bytes is best)\n"
    )


#: Every date and duration option, each way it can be out of range, absurd or empty.
BAD_DATES = [
    *(
        [action, option, value]
        for action in ("export", "stats")
        for option, value in [
            ("--since", "9999-12-31"),  # an empty period at the end of time
            ("--since", "0001-01-01"),
            ("--since", "1969-12-31"),
            ("--since", "0001-01-01T00:00:00+01:00"),  # overflows when moved to UTC
            ("--since", "9999-12-31T23:59:59-01:00"),
            ("--since", "10000-01-01"),
            ("--since", "-2025-01-01"),
            ("--since", ""),
            ("--since", " "),
            ("--since", "2025-13-01"),
            ("--until", "9999-12-31"),  # the end of its day overflows
            ("--until", "0001-01-01"),
            ("--until", "1969-12-30"),
            ("--until", "9999-12-31T12:00:00Z"),
            ("--until", ""),
        ]
    ),
    *(
        ["prune", "--older-than", value]
        for value in [
            "99999999d",
            "999999999999999999999999999999d",
            "9" * 5000 + "d",
            "30000d",  # before 1970
            "0d",
            "-5d",
            "+0d",
            "",
            "d",
            "5",
            "5 days",
            "0001-01-01",
            "9999-12-31",  # in the future: would delete every record
            "2999-01-01T00:00:00Z",
            "0001-01-01T00:00:00+01:00",
        ]
    ),
    *(
        ["export", "--batch-size", value]
        for value in ["0", "-1", "", "1e3", "100001", "99999999999999999999", "\u0661"]
    ),
]


@pytest.mark.parametrize("argv", BAD_DATES, ids=lambda argv: " ".join(argv)[:60])
def test_bad_dates_and_durations_are_usage_errors(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path}/r.db"
    old = datetime.now(timezone.utc) - timedelta(days=3000)
    fill(url, [make_record(0, when=old)])
    action, option, value = argv
    assert main(["records", action, f"{option}={value}", "--url", url]) == 2
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    assert out == ""  # nothing done
    assert len(err.strip().splitlines()) == 1
    assert err.startswith(f"consent records {action}: error: argument {option}")
    assert main(["records", "prune", "--older-than", "1d", "--dry-run", "--url", url]) == 0
    assert capsys.readouterr().out.startswith("would delete 1 record(s)")  # still there


@pytest.mark.parametrize(
    "argv",
    [
        ["records", "export", "--since", "1970-01-01", "--until", "9999-12-30"],
        ["records", "stats", "--since", "9999-12-30T23:59:59Z"],
        ["records", "prune", "--older-than", "1970-01-01", "--dry-run"],
        ["records", "export", "--batch-size", "100000"],
    ],
)
def test_the_edges_of_the_range_are_accepted(argv: list[str], tmp_path: Path) -> None:
    assert main([*argv, "--url", create(f"sqlite:///{tmp_path}/r.db")]) == 0


@pytest.mark.parametrize(
    "argv",
    [
        ["records", "show", "visitor-\udcff"],  # an undecodable byte in argv
        ["records", "show", ""],
        ["records", "texts", "\udcff" * 64],
        ["records", "texts", "not-a-hash"],
    ],
)
def test_text_arguments_no_store_can_look_up_are_usage_errors(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*argv, "--url", f"sqlite:///{tmp_path}/r.db"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_an_unexpected_failure_is_one_line_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async def broken(*args: object) -> int:
        raise RuntimeError("boom\nsecond line")

    url = create(f"sqlite:///{tmp_path}/r.db")
    monkeypatch.setattr("consent.cli._run", broken)
    assert main(["records", "stats", "--url", url]) == 1
    assert capsys.readouterr().err == "consent: error: unexpected RuntimeError: boom second line\n"


def test_interrupted_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async def interrupted(*args: object) -> int:
        raise KeyboardInterrupt

    url = create(f"sqlite:///{tmp_path}/r.db")
    monkeypatch.setattr("consent.cli._run", interrupted)
    assert main(["records", "stats", "--url", url]) == 130
    assert capsys.readouterr().err == "consent: error: interrupted\n"


def test_store_errors_exit_1_without_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["records", "stats", "--url", "postgresql://postgres@127.0.0.1:1/nothing"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("consent: error: records store:")
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("action", ["export", "show someone", "texts " + "0" * 64, "stats"])
@pytest.mark.parametrize("where", ["r.db", "no/such/directory/r.db"])
def test_a_missing_database_is_an_error_not_an_empty_store(
    action: str, where: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Reading never creates a database: an empty one would report zero decisions."""
    path = tmp_path / where
    assert main(["records", *action.split(), "--url", f"sqlite:///{path}"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        f"consent: error: no records database at {path}; pass --url or set CONSENT_RECORDS__URL\n"
    )
    assert not path.exists()


def test_prune_of_a_missing_database_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "r.db"
    argv = ["records", "prune", "--older-than", "400d", "--url", f"sqlite:///{path}"]
    assert main(argv) == 1
    assert "no records database at" in capsys.readouterr().err
    assert not path.exists()


def test_the_default_location_is_read_not_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --url or settings, the CLI reads the per-user data directory, never the
    working directory; only `migrate` creates the database there."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    database = tmp_path / "data" / "asgi-consent" / "consent-records.db"
    assert main(["records", "stats"]) == 1
    assert capsys.readouterr().err == (
        f"consent: error: no records database at {database}; "
        "pass --url or set CONSENT_RECORDS__URL\n"
    )
    assert not (tmp_path / "data").exists()
    assert main(["records", "migrate"]) == 0
    assert capsys.readouterr().out == f"sqlite:///{database}: schema version {SCHEMA_VERSION}\n"
    assert (database.parent.stat().st_mode & 0o777) == 0o700
    assert main(["records", "stats"]) == 0
    assert "decisions" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]  # nothing in the cwd


def test_settings_errors_are_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CONSENT_SECRETKEY", "x" * 32)
    assert main(["records", "stats"]) == 2
    assert capsys.readouterr().err == (
        "consent: error: unknown setting CONSENT_SECRETKEY (did you mean CONSENT_SECRET_KEY?)\n"
    )


def test_settings_errors_name_the_toml_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "consent.toml"
    config.write_text('cookie_name = "a b"\n', encoding="utf-8")
    monkeypatch.setenv("CONSENT_CONFIG_FILE", str(config))
    assert main(["records", "stats"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("consent: error: invalid settings: cookie_name: ")
    assert err.endswith(f"(values from {config}: cookie_name)\n")


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["records", "export", "--help"]) == 0
    assert "--since" in capsys.readouterr().out


def test_python_dash_m(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/m.db"
    done = subprocess.run(
        [sys.executable, "-m", "consent", "records", "migrate", "--url", url],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "schema version" in done.stdout
