"""The scripts the pods run (roles/mlflow_tracking/files/*.py, mounted from ConfigMaps as they are): importing one
does nothing, its settings come from the environment when it runs, and its decisions are tested here."""

import hashlib
import importlib.util
import io
import sys
from pathlib import Path

import pytest

FILES = Path(__file__).resolve().parents[2] / "roles" / "mlflow_tracking" / "files"
SCRIPTS = sorted(p.stem for p in FILES.glob("*.py"))


# The scripts of one ConfigMap are mounted side by side and import each other (restore.py reads backup.py's listing).
sys.path.insert(0, str(FILES))


def load(name):
    spec = importlib.util.spec_from_file_location(f"pod_script_{name}", FILES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", SCRIPTS)
def test_importing_a_script_runs_nothing(name, monkeypatch):
    for key in ("S3_BUCKET", "MLFLOW_S3_ENDPOINT_URL", "BACKUP_DIR", "SRC_BUCKET", "DST_BUCKET"):
        monkeypatch.delenv(key, raising=False)
    assert callable(load(name).main)


NOT_YET_RUN_BY_A_TEMPLATE = []


def test_the_scripts_are_the_ones_the_templates_read():
    assert SCRIPTS == ["backup", "copy_backup", "ensure_bucket", "grow_database", "migrate_artifacts", "prepare_database",
                       "restore"]
    templates = FILES.parent / "templates"
    assert not list(templates.rglob("*.py.j2"))
    used = "".join(p.read_text() for p in templates.rglob("*.j2"))
    for name in SCRIPTS:
        assert (f"_mlflow_tracking_files ~ '/{name}.py'" in used) != (name in NOT_YET_RUN_BY_A_TEMPLATE), name


def test_backup_reads_the_one_schema_revision_of_the_dump(tmp_path):
    backup = load("backup")
    dump = tmp_path / "alembic.sql"
    dump.write_text("--\n-- Data for alembic_version\n--\n\nCOPY public.alembic_version (version_num) FROM stdin;\n"
                    "1b5f0d9ad7c1\n\\.\n\n")
    assert backup.schema_revision(dump) == "1b5f0d9ad7c1"
    dump.write_text("COPY public.alembic_version (version_num) FROM stdin;\na\nb\n\\.\n")
    assert backup.schema_revision(dump) == ""   # two rows: not an MLflow database
    dump.write_text("")
    assert backup.schema_revision(dump) == ""


def test_backup_keeps_the_newest(tmp_path):
    expired = load("backup").expired
    done = ["20261201T0200", "20261202T0200", "20261203T0200"]
    assert expired(done, 2) == ["20261201T0200"]
    assert expired(done, 5) == []
    assert expired(done, 0) == []


def test_copy_takes_the_newest_complete_backup(tmp_path):
    newest = load("copy_backup").newest_backup
    assert newest(tmp_path) is None
    for name, done in (("20261201T023000Z", True), ("20261202T023000Z", True), ("20261203T023000Z.partial", False),
                       ("20261204T023000Z", False)):
        (tmp_path / name).mkdir()
        if done:
            (tmp_path / name / "backup.json").write_text("{}")
    assert newest(tmp_path) == "20261202T023000Z"


def test_copy_uploads_the_marker_last():
    order = load("copy_backup").upload_order
    assert order(["backup.json", "db.dump", "alembic.sql", "artifacts.json"]) == [
        "alembic.sql", "artifacts.json", "db.dump", "backup.json"]


def test_copy_groups_the_bucket_by_backup_and_leaves_other_keys_alone():
    copies = load("copy_backup").copies
    keys = ["ml/20261201T023000Z/db.dump", "ml/20261201T023000Z/backup.json", "ml/20261202T023000Z/db.dump",
            "ml/notes.txt", "ml/other/20261201T023000Z/db.dump", "ml/20261203T023000Z"]
    assert copies(keys, "ml") == {"20261201T023000Z": {"db.dump", "backup.json"}, "20261202T023000Z": {"db.dump"}}
    assert copies(["20261201T023000Z/backup.json"], "") == {"20261201T023000Z": {"backup.json"}}


def test_copy_keeps_the_newest_complete_and_removes_older_half_done():
    expired = load("copy_backup").expired_copies
    done = {"backup.json", "db.dump"}
    found = {"20261201T000000Z": done, "20261202T000000Z": {"db.dump"}, "20261203T000000Z": done,
             "20261204T000000Z": done, "20261205T000000Z": {"db.dump"}}
    assert expired(found, 2, "20261204T000000Z") == ["20261201T000000Z", "20261202T000000Z"]
    assert expired(found, 5, "20261204T000000Z") == ["20261202T000000Z"]
    assert expired(found, 1, "20261204T000000Z") == ["20261201T000000Z", "20261202T000000Z", "20261203T000000Z"]


def test_restore_picks_the_named_or_the_newest_backup():
    pick = load("restore").pick
    assert pick(["a", "b"], "", "/backup") == "b"
    assert pick(["a", "b"], "a", "/backup") == "a"
    with pytest.raises(SystemExit, match="no backup 'c'; there are: a, b"):
        pick(["a", "b"], "c", "/backup")
    with pytest.raises(SystemExit, match="no backup in /backup: nothing to restore"):
        pick([], "", "/backup")


def test_restore_compares_the_listing_with_the_store():
    run, other = "0" * 31 + "1", "f" * 32
    had = {f"1/{run}/artifacts/a": (1, "e1"), f"1/{run}/artifacts/b": (2, "e2"), "gone": (3, "e3")}
    now = {f"1/{run}/artifacts/a": (1, "e1"), f"1/{run}/artifacts/b": (2, "changed"), f"1/{other}/artifacts/c": (4, "e4"),
           "loose": (5, "e5")}
    missing, changed, newer, runs = load("restore").compare(had, now)
    assert missing == ["gone"]
    assert changed == [f"1/{run}/artifacts/b"]
    assert newer == [f"1/{other}/artifacts/c", "loose"]
    assert runs == [other]


def test_migration_reads_prefixes_and_hashes_what_it_streams(monkeypatch):
    migrate = load("migrate_artifacts")
    monkeypatch.setenv("SRC_PREFIX", "/mlflow/artifacts/")
    monkeypatch.delenv("DST_PREFIX", raising=False)
    assert (migrate.prefix("SRC"), migrate.prefix("DST")) == ("mlflow/artifacts/", "")
    data = bytes(range(256)) * 1000
    stream = migrate.Hashing(io.BytesIO(data))
    read = b""
    while chunk := stream.read(4096):
        read += chunk
    assert read == data
    assert stream.sha.hexdigest() == hashlib.sha256(data).hexdigest()


def test_prepare_database_copies_with_the_online_api_and_keeps_the_newest(tmp_path):
    import sqlite3

    prepare = load("prepare_database")
    db = tmp_path / "mlflow.db"
    assert prepare.current_revision(str(db)) == ""
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
    con.execute("INSERT INTO alembic_version VALUES ('abc123')")
    con.commit()
    con.execute("PRAGMA journal_mode=WAL")
    assert prepare.current_revision(str(db)) == "abc123"
    copies = tmp_path / "copies"
    copies.mkdir()
    for stamp in ("20260101", "20260102", "20260103"):
        prepare.backup(str(db), str(copies / f"mlflow-abc123-{stamp}.db"))
    prepare.keep_newest(str(copies), 2)
    assert sorted(p.name for p in copies.iterdir()) == ["mlflow-abc123-20260102.db", "mlflow-abc123-20260103.db"]
    assert prepare.current_revision(str(copies / "mlflow-abc123-20260103.db")) == "abc123"
    con.close()


def _mlflow_db(path, revision="abc123", journal="wal"):
    """An SQLite database with an alembic_version row and a table of runs, in `journal` mode; its open connection."""
    import sqlite3

    con = sqlite3.connect(path)
    con.execute(f"PRAGMA journal_mode={journal}")
    con.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
    con.execute("INSERT INTO alembic_version VALUES (?)", (revision,))
    con.execute("CREATE TABLE runs (run_uuid TEXT)")
    con.commit()
    return con


def test_backup_copies_a_live_wal_database_with_the_online_api(tmp_path):
    import sqlite3

    backup = load("backup")
    live = tmp_path / "mlflow.db"
    writer = _mlflow_db(live)
    writer.execute("PRAGMA wal_autocheckpoint=0")  # what the writer committed stays in the WAL, not in the file
    writer.executemany("INSERT INTO runs VALUES (?)", [(f"run{i}",) for i in range(100)])
    writer.commit()
    assert (tmp_path / "mlflow.db-wal").stat().st_size > 0
    target = tmp_path / "copy.db"
    assert backup.online_backup(str(live), str(target)) == "abc123"
    copy = sqlite3.connect(target)
    assert copy.execute("SELECT count(*) FROM runs").fetchone()[0] == 100   # the WAL's rows: not a file copy
    assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    copy.close()
    assert not (tmp_path / "copy.db-wal").exists()
    writer.close()
    with pytest.raises(SystemExit, match="no database"):
        backup.online_backup(str(tmp_path / "none.db"), str(tmp_path / "x.db"))
    assert not (tmp_path / "none.db").exists()   # never created by the backup


def test_backup_lists_the_artifact_directory(tmp_path):
    listing = load("backup").local_listing
    (tmp_path / "1" / "r" / "artifacts").mkdir(parents=True)
    (tmp_path / "1" / "r" / "artifacts" / "b.txt").write_text("bb")
    (tmp_path / "a.txt").write_text("a")
    (tmp_path / "link").symlink_to(tmp_path / "a.txt")
    got = listing(str(tmp_path))
    assert [(o["key"], o["size"]) for o in got] == [("a.txt", 1), ("1/r/artifacts/b.txt", 2)]
    assert got[0]["mtime_ns"] == (tmp_path / "a.txt").stat().st_mtime_ns


def test_backup_of_the_small_stack_makes_a_complete_directory_and_keeps_the_newest(tmp_path, monkeypatch):
    import json

    backup = load("backup")
    data, root = tmp_path / "mlflow", tmp_path / "backup"
    (data / "artifacts" / "0").mkdir(parents=True)
    (data / "artifacts" / "0" / "f.bin").write_bytes(b"x" * 10)
    _mlflow_db(data / "mlflow.db").close()
    for old in ("20260101T000000Z", "20260102T000000Z"):
        (root / old).mkdir(parents=True)
        (root / old / "backup.json").write_text("{}")
    (root / "20260103T000000Z.partial").mkdir()   # a run that failed half-way
    monkeypatch.setenv("MLFLOW_BACKEND_STORE_URI", f"sqlite:///{data / 'mlflow.db'}")
    monkeypatch.setenv("ARTIFACTS_DIR", str(data / "artifacts"))
    monkeypatch.setenv("BACKUP_DIR", str(root))
    monkeypatch.setenv("BACKUP_KEEP", "2")
    backup.main()
    names = sorted(p.name for p in root.iterdir())
    assert len(names) == 2 and names[0] == "20260102T000000Z" and not names[1].endswith(".partial"), names
    made = root / names[1]
    assert sorted(p.name for p in made.iterdir()) == ["artifacts.json", "backup.json", "mlflow.db"]
    meta = json.loads((made / "backup.json").read_text())
    assert (meta["schema"], meta["database"], meta["artifacts"], meta["artifact_bytes"]) == ("abc123", "sqlite", 1, 10)
    listing = json.loads((made / "artifacts.json").read_text())
    assert listing["store"] == "pvc" and [o["key"] for o in listing["objects"]] == ["0/f.bin"]


def test_restore_puts_the_backups_database_over_the_old_one_and_its_wal(tmp_path):
    import sqlite3

    restore = load("restore")
    good = tmp_path / "backup.db"
    con = _mlflow_db(good, journal="delete")
    con.execute("INSERT INTO runs VALUES ('restored')")
    con.commit()
    con.close()
    database = tmp_path / "mlflow.db"
    _mlflow_db(database).close()
    for suffix in ("-wal", "-shm"):
        (tmp_path / f"mlflow.db{suffix}").write_bytes(b"of the old database")
    restore.put_database(str(good), str(database))
    assert not (tmp_path / "mlflow.db-wal").exists() and not (tmp_path / "mlflow.db-shm").exists()
    assert not (tmp_path / "mlflow.db.restore").exists()
    con = sqlite3.connect(database)
    assert con.execute("SELECT run_uuid FROM runs").fetchall() == [("restored",)]
    con.close()
    assert restore.quick_check(str(good)) == "ok"

    broken = tmp_path / "broken.db"
    broken.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)
    before = database.read_bytes()
    assert restore.quick_check(str(broken)) != "ok"
    with pytest.raises((SystemExit, sqlite3.DatabaseError)):
        restore.put_database(str(broken), str(database))
    assert database.read_bytes() == before


def test_restore_lists_the_volume_as_the_backup_did(tmp_path):
    backup, restore = load("backup"), load("restore")
    (tmp_path / "1" / ("a" * 32) / "artifacts").mkdir(parents=True)
    (tmp_path / "1" / ("a" * 32) / "artifacts" / "m.pkl").write_bytes(b"123")
    had = {o["key"]: (o["size"], o["mtime_ns"]) for o in backup.local_listing(str(tmp_path))}
    assert restore.local_listing(str(tmp_path)) == had
    assert restore.sqlite_path("sqlite:////mlflow/mlflow.db") == "/mlflow/mlflow.db"
    assert restore.sqlite_path("postgresql+psycopg2://u:p@h/db") == ""
