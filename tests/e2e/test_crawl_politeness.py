"""Politeness a webmaster can see: an honest User-Agent with the installation's contact
(HUIYING_CRAWL_CONTACT), robots.txt read first, one request at a time."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

from huiying.cli.runner import demo_config
from tests.conftest import huiying, serve_in_thread
from tests.e2e.test_crawl_failures import DETAIL


@pytest.fixture
def recording_site():
    seen: list[tuple[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append((self.path, self.headers.get("User-Agent", "")))
            if self.path == "/board":
                body = (b'<ul class="msg-list"><li class="msg-item">'
                        b'<a class="msg-title" href="/msg/1.html">x</a></li></ul>')
            elif self.path == "/msg/1.html":
                body = DETAIL.format(charset="utf-8", title="留言", body="<p>校车什么时候开通？</p>").encode()
            else:
                self.send_response(404)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    serve_in_thread(server)
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


def test_the_user_agent_names_the_installation_and_robots_txt_comes_first(embedded_env, recording_site,
                                                                          tmp_path):
    url, seen = recording_site
    config = demo_config(url).as_dict()
    config.update(name="county", start_urls=[url + "/board"])
    path = tmp_path / "county.yml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), "utf-8")
    env = {**embedded_env, "HUIYING_CRAWL_CONTACT": "it@edu.example.cn"}
    huiying("crawl", "--source-file", str(path), "--output", str(tmp_path / "out.jsonl"), env=env)
    assert [p for p, _ in seen][:1] == ["/robots.txt"]
    assert {p for p, _ in seen} == {"/robots.txt", "/board", "/msg/1.html"}
    for _, agent in seen:
        assert agent.startswith("Huiying/") and "(+it@edu.example.cn;" in agent


@pytest.mark.parametrize("contact", ["it@edu.example.cn\r\nX-Injected: 1", "nobody", "a b@example.cn"])
def test_a_mistyped_contact_is_one_sentence(embedded_env, tmp_path, contact):
    env = {**embedded_env, "HUIYING_CRAWL_CONTACT": contact}
    done = huiying("sources", "status", env=env, check=False)
    assert done.returncode == 2
    assert "HUIYING_CRAWL_CONTACT must be one email or web address" in done.stderr
    assert "Traceback" not in done.stderr
