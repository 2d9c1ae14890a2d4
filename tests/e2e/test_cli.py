"""The smaller commands of the CLI contract, run as a user runs them."""

import json

from tests.conftest import huiying, write_demo_source


def test_sources_check_and_crawl_without_storing(embedded_env, demo_site, tmp_path):
    write_demo_source(tmp_path / "src", demo_site.url)
    checked = huiying("sources", "check", str(tmp_path / "src" / "demo.yml"), env=embedded_env)
    assert "valid; the first list page yields 20 comments" in checked.stdout

    out = tmp_path / "items.jsonl"
    huiying("crawl", "--source-file", str(tmp_path / "src" / "demo.yml"), "--output", str(out),
            env=embedded_env)
    items = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert len(items) >= 150 and {"external_id", "title", "body", "url"} <= set(items[0])


def test_sources_check_reports_a_bad_file_in_one_sentence(embedded_env, tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("name: Bad Name\nstart_urls: [ftp://x]\n", "utf-8")
    result = huiying("sources", "check", str(bad), env=embedded_env, check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "name 'Bad Name' must be lower-case" in result.stderr


def test_analyze_jsonl(migrated_env):
    lines = "\n".join(json.dumps(r, ensure_ascii=False) for r in [
        {"id": 1, "text": "请问今年小学招生划片范围什么时候公布？"},
        {"id": 2, "text": ""},
    ])
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "huiying", "analyze"], input=lines, text=True,
                            capture_output=True, env=migrated_env, check=True)
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert first["id"] == 1 and first["topic"] == "招生入学" and first["department"] == "基础教育股"
    assert 0 <= first["sentiment"] <= 1 and first["model_version"]
    assert second["error"] == "empty text"


def test_analyze_rejects_a_line_that_is_not_json(migrated_env):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "huiying", "analyze"], input="not json\n",
                            text=True, capture_output=True, env=migrated_env)
    assert result.returncode == 2
    assert result.stderr.strip() == ('error: line 1 of the input is not a JSON object with a '
                                     '"text" field.')


def test_users_add_and_token(migrated_env):
    env = {**migrated_env, "HUIYING_NEW_PASSWORD": "dept-password-1"}
    added = huiying("users", "add", "jiaoyu", "--role", "department", "--department", "基础教育股",
                    env=env)
    assert "created" in added.stdout
    missing = huiying("users", "add", "x", "--role", "department", "--department", "不存在的科",
                      env=env, check=False)
    assert missing.returncode == 2 and "no department named '不存在的科'" in missing.stderr
    token = huiying("users", "token", "jiaoyu", env=migrated_env).stdout.strip()
    assert len(token) >= 40
    from sqlalchemy import create_engine, text

    database = create_engine(f"sqlite:///{migrated_env['HUIYING_DATA_DIR']}/huiying.sqlite3")
    with database.connect() as db:
        stored = db.execute(text("SELECT password_hash FROM \"user\" WHERE username = 'jiaoyu'")).scalar()
    database.dispose()
    assert stored.startswith("scrypt:32768:8:1$")  # werkzeug's full work factor in production


def test_model_train_and_eval_sentiment(embedded_env, tmp_path):
    rows = ["text,label"] + [f"服务很好，非常满意{i},1" for i in range(30)] + \
        [f"太差了，再也不来了{i},0" for i in range(30)]
    data = tmp_path / "train.csv"
    data.write_text("\n".join(rows) + "\n", "utf-8")
    trained = json.loads(huiying("model", "train", "sentiment", "--data", str(data), "--out",
                                 str(tmp_path / "m"), env=embedded_env).stdout)
    assert trained["version"].startswith("sent-ngram-") and trained["n_train"] == 60
    result = json.loads(huiying("model", "eval", "sentiment", "--data", str(data), "--model",
                                str(tmp_path / "m"), env=embedded_env).stdout)
    assert result["n"] == 60 and result["accuracy"] == 1.0 and result["texts_per_s"] > 0
    assert result["engine"] == f"default ({trained['version']})"


def test_model_commands_explain_bad_files(embedded_env, tmp_path):
    wrong_columns = tmp_path / "wrong.csv"
    wrong_columns.write_text("comment,score\n好,1\n", "utf-8")
    result = huiying("model", "eval", "sentiment", "--data", str(wrong_columns), env=embedded_env,
                     check=False)
    assert result.returncode == 2
    assert result.stderr.strip() == (f"error: {wrong_columns}: expected a header with 'text' and "
                                     "'label' columns")
    bad_label = tmp_path / "bad.csv"
    bad_label.write_text("text,label\n好,yes\n", "utf-8")
    result = huiying("model", "train", "sentiment", "--data", str(bad_label), "--out",
                     str(tmp_path / "m"), env=embedded_env, check=False)
    assert result.returncode == 2 and "line 2: label must be 0 or 1, got 'yes'" in result.stderr


def test_model_train_and_eval_router(embedded_env, tmp_path):
    examples = {"学前教育股": "幼儿园保教费{}元是否合理", "人事股": "教师招聘第{}批名单什么时候公布",
                "安全稳定股": "校车第{}号线超载严重"}
    rows = ["text,dept"] + [f"{t.format(i)},{d}" for d, t in examples.items() for i in range(12)]
    data = tmp_path / "history.csv"
    data.write_text("\n".join(rows) + "\n", "utf-8")
    trained = json.loads(huiying("model", "train", "router", "--data", str(data), "--text-col",
                                 "text", "--label-col", "dept", env=embedded_env).stdout)
    assert trained["n"] == 36 and sorted(trained["labels"]) == sorted(examples)
    assert trained["out"] == str(tmp_path / "data" / "models" / "router")  # where the worker looks
    assert trained["macro_f1"] >= 0.9
    result = json.loads(huiying("model", "eval", "router", "--model", trained["out"], "--data",
                                str(data), "--text-col", "text", "--label-col", "dept",
                                env=embedded_env).stdout)
    assert result["n"] == 36 and result["accuracy"] == 1.0 and set(result) >= {"macro_f1", "texts_per_s"}

    no_tables = huiying("model", "train", "router", "--from-history", env=embedded_env, check=False)
    assert no_tables.returncode == 2 and "run `huiying db upgrade` first" in no_tables.stderr
    huiying("db", "upgrade", env=embedded_env)
    too_few = huiying("model", "train", "router", "--from-history", env=embedded_env, check=False)
    assert too_few.returncode == 2 and "too few to learn from" in too_few.stderr
    wrong = huiying("model", "eval", "router", "--data", str(data), "--text-col", "body",
                    "--label-col", "dept", env=embedded_env, check=False)
    assert wrong.returncode == 2 and "no column body" in wrong.stderr


def store_corrections(env, field: str, corrections, other_field: str) -> None:
    """Comments (title, body) with the labels of `field` people gave them, oldest first, and
    one label of `other_field` that a trainer of `field` must ignore; `env`'s database migrated."""
    from huiying.db import engine_for, session_scope
    from huiying.models import Comment, Label, Source

    url = f"sqlite:///{env['HUIYING_DATA_DIR']}/huiying.sqlite3"
    with session_scope(url) as session:
        source = Source(name="board")
        session.add(source)
        session.flush()
        for n, (title, body, values) in enumerate(corrections):
            comment = Comment(source_id=source.id, external_id=str(n), title=title, body=body,
                              content_hash=str(n))
            session.add(comment)
            session.flush()
            session.add_all(Label(comment_id=comment.id, field=field, value=v) for v in values)
        session.add(Label(comment_id=comment.id, field=other_field, value="x"))
    engine_for(url).dispose()


def test_model_train_sentiment_with_dashboard_labels(migrated_env, tmp_path):
    rows = ["text,label"] + [f"服务很好，非常满意{i},1" for i in range(20)] + \
        [f"太差了，再也不来了{i},0" for i in range(20)]
    data = tmp_path / "train.csv"
    data.write_text("\n".join(rows) + "\n", "utf-8")
    store_corrections(migrated_env, "sentiment", [
        ("老师很负责", "孩子进步很大", ["positive"]),
        ("食堂饭菜发霉", "没人管, \"再说\"\n一遍", ["negative"]),
        ("校车晚点", "", ["positive", "neutral"]),  # the newest counts: skipped
        ("招生划片", "不公平", ["neutral", "negative"])], other_field="topic")

    args = ("model", "train", "sentiment", "--data", str(data), "--out", str(tmp_path / "m"))
    plain = json.loads(huiying(*args, env=migrated_env).stdout)
    assert plain["n_train"] == 40 and plain["labels_included"] == 0
    trained = json.loads(huiying(*args, "--with-labels", env=migrated_env).stdout)
    assert trained["labels_included"] == 3 and trained["n_train"] == 43
    files = [f["file"] for f in trained["training_data"]]
    assert files == ["train.csv", "dashboard-labels.csv"]
    assert trained["training_data"][1]["rows"] == 3


def relevance_csv(path):
    """48 labelled messages: title and body columns, category 教育文体 or 城乡建设."""
    import csv

    education = ["孩子转学需要什么手续", "小学招生划片范围什么时候公布", "学校食堂饭菜质量差",
                 "校车超载严重", "幼儿园收费太高", "教师工资拖欠", "中学课后服务收费不透明",
                 "高考加分政策咨询"]
    other = ["小区物业乱收费", "道路坑洼需要修补", "公交车班次太少", "医院挂号难", "楼盘延期交房",
             "噪音扰民严重", "自来水水质发黄", "路灯不亮"]
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["title", "body", "category"])
        for i in range(3):
            writer.writerows([f"{t}{i}", "请尽快解决", "教育文体"] for t in education)
            writer.writerows([f"{t}{i}", "请尽快解决", "城乡建设"] for t in other)
    return path


def test_model_train_and_eval_relevance_with_dashboard_labels(migrated_env, tmp_path):
    data = relevance_csv(tmp_path / "messages.csv")
    store_corrections(migrated_env, "relevant", [
        ("学校食堂饭菜发霉", "", ["true"]),
        ("小区停车难", "没人管", ["false"]),
        ("校车晚点", "", ["false", "true"]),  # the newest counts
        ("体育馆开放时间", "", ["true", "false"]),
        ("小区物业乱收费0", "请尽快解决", ["true"])], other_field="sentiment")  # also in the file

    args = ("model", "train", "relevance", "--data", str(data), "--text-col", "title+body",
            "--label-col", "category")
    plain = json.loads(huiying(*args, "--out", str(tmp_path / "plain"), env=migrated_env).stdout)
    assert (plain["n"], plain["positives"], plain["labels_included"]) == (48, 24, 0)
    result = huiying(*args, "--with-labels", env=migrated_env)
    trained = json.loads(result.stdout)
    assert trained["labels_included"] == 5 and (trained["n"], trained["positives"]) == (52, 27)
    # By default the installation's folder, which processing uses; the shipped model stays.
    assert trained["out"] == str(tmp_path / "data" / "models" / "relevance")
    meta = json.loads((tmp_path / "data" / "models" / "relevance" / "meta.json").read_text("utf-8"))
    assert meta["dashboard_labels"] == 5 and meta["version"] == trained["version"]

    evaluated = json.loads(huiying("model", "eval", "relevance", "--model", trained["out"], "--data",
                                   str(data), "--text-col", "title+body", "--label-col", "category",
                                   env=migrated_env).stdout)
    assert evaluated["n"] == 48 and evaluated["model_version"] == trained["version"]
    assert {"precision", "recall", "f1", "accuracy", "threshold", "texts_per_s"} <= set(evaluated)
    assert evaluated["recall"] == 1.0
    shipped = json.loads(huiying("model", "eval", "relevance", "--data", str(data), "--text-col",
                                 "title+body", "--label-col", "category", env=migrated_env).stdout)
    assert shipped["model_version"] != trained["version"]


def test_model_relevance_commands_explain_bad_input(embedded_env, tmp_path):
    data = relevance_csv(tmp_path / "messages.csv")
    cases = [
        (("train", "relevance", "--data", str(data), "--text-col", "text", "--label-col", "category"),
         f"error: {data}: no column text; it has ['title', 'body', 'category']"),
        (("train", "relevance", "--data", str(data), "--text-col", "title", "--label-col", "category",
          "--positive", "教育"),
         "error: 0 rows are labelled '教育' in column 'category' and 48 are not, but at least 5 of each "
         "are needed (check --positive and --label-col)."),
        (("eval", "relevance", "--data", str(data), "--text-col", "title", "--label-col", "category",
          "--positive", "教育"),
         f"error: no row of {data} is labelled '教育' in column 'category' (check --positive and "
         "--label-col)."),
        (("eval", "relevance", "--model", str(tmp_path), "--data", str(data), "--text-col", "title",
          "--label-col", "category"),
         f"error: {tmp_path} holds no relevance model; train one with `huiying model train relevance`."),
        (("train", "relevance", "--data", str(tmp_path / "missing.csv"), "--text-col", "title",
          "--label-col", "category"),
         f"error: no such data file: {tmp_path / 'missing.csv'}."),
    ]
    for args, message in cases:
        result = huiying("model", *args, env=embedded_env, check=False)
        assert result.returncode == 2 and result.stderr.strip() == message, result.stderr


def test_hotwords_on_an_empty_database(migrated_env):
    result = json.loads(huiying("hotwords", "--days", "7", "--json", env=migrated_env).stdout)
    assert result["comments"] == 0 and result["words"] == []
    bad = huiying("hotwords", "--days", "0", env=migrated_env, check=False)
    assert bad.returncode == 2 and "Invalid value for '--days'" in bad.stderr
