import datetime as dt
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from boardsync_dagster.engine.clock import SHANGHAI
from boardsync_dagster.engine.vendor_formats import Endpoint, Refusal, detect, parse_answer

NOW = dt.datetime(2026, 3, 2, 10, 0, 0, tzinfo=SHANGHAI)


def test_text_lines():
    answer = parse_answer("1.2.3.4:8080\r\n5.6.7.8:9090\r\n", "auto", NOW)
    assert answer.endpoints == [Endpoint("1.2.3.4", 8080), Endpoint("5.6.7.8", 9090)]


def test_zhima_with_beijing_expiry():
    doc = {
        "code": 0,
        "success": True,
        "data": [{"ip": "1.2.3.4", "port": 4223, "expire_time": "2026-03-02 10:01:00"}],
    }
    answer = parse_answer(json.dumps(doc), "auto", NOW)
    assert answer.endpoints == [Endpoint("1.2.3.4", 4223, NOW + dt.timedelta(seconds=60))]


def test_kuaidaili_seconds_left():
    doc = {"code": 0, "msg": "", "data": {"count": 1, "proxy_list": ["1.2.3.4:8080,58"]}}
    assert detect(json.dumps(doc)) == "kuaidaili"
    answer = parse_answer(json.dumps(doc), "auto", NOW)
    assert answer.endpoints == [Endpoint("1.2.3.4", 8080, NOW + dt.timedelta(seconds=58))]


@pytest.mark.parametrize(
    "text, refusal",
    [
        ("请2秒后再试", Refusal.TOO_FAST),
        ("请将1.2.3.4添加到白名单", Refusal.AUTH),
        ("今日提取数量已用完", Refusal.QUOTA),
        ("key错误或已失效", Refusal.AUTH),
        ('{"code":111,"success":false,"msg":"请2秒后再试","data":[]}', Refusal.TOO_FAST),
        ('{"code":113,"success":false,"msg":"请将1.2.3.4添加到白名单"}', Refusal.AUTH),
        ('{"code":121,"success":false,"msg":"今日提取数量已用完"}', Refusal.QUOTA),
        ('{"code":116,"success":false,"msg":""}', Refusal.QUOTA),
        ('{"code":-51,"msg":"请1秒后再试"}', Refusal.TOO_FAST),
        ('{"code":-5,"msg":"今日提取数量已用完"}', Refusal.QUOTA),
        ('{"code":-1,"msg":"key错误或已失效"}', Refusal.AUTH),
        ('{"code":-3,"msg":"参数错误"}', Refusal.UNKNOWN),
        ("<html>nginx</html>", Refusal.UNUSABLE),
        ("", Refusal.UNUSABLE),
        ("1.2.3.4:99999", Refusal.UNUSABLE),
        ("999.2.3.4:80", Refusal.UNUSABLE),
        ("0.0.0.0:80", Refusal.UNUSABLE),
        ('{"code":0,"success":true,"data":[{"ip":"1.2.3.4","port":"x"}]}', Refusal.UNUSABLE),
        (
            '{"code":0,"success":true,"data":[{"ip":"1.2.3.4","port":80,"expire_time":"tomorrow"}]}',
            Refusal.UNUSABLE,
        ),
        ("[1,2]", Refusal.UNUSABLE),
        # Issue 11.5: words about pace are never quota or auth, whatever else they say.
        ("Rate limit exceeded, please slow down", Refusal.TOO_FAST),
        ("Too many requests for this key", Refusal.TOO_FAST),
        ("提取频率超过上限", Refusal.TOO_FAST),
        ("daily quota exhausted", Refusal.QUOTA),
        ("Invalid key", Refusal.AUTH),
        ("服务维护中", Refusal.UNKNOWN),
        ("limit reached", Refusal.UNKNOWN),
        # The vendor's code decides when it has one we know, whatever its message says.
        ('{"code":111,"success":false,"msg":"key quota limit"}', Refusal.TOO_FAST),
        ('{"code":121,"success":false,"msg":"please slow down"}', Refusal.QUOTA),
        ('{"code":-51,"msg":"余额不足"}', Refusal.TOO_FAST),
        ('{"code":-5,"msg":"Too many requests"}', Refusal.QUOTA),
        # A code we do not know: the words, else unknown (retried), never quota by default.
        ('{"code":429,"success":false,"msg":"Rate limit exceeded, please slow down"}', Refusal.TOO_FAST),
        ('{"code":999,"success":false,"msg":""}', Refusal.UNKNOWN),
        ('{"code":-99,"msg":"系统繁忙"}', Refusal.UNKNOWN),
        # Not a vendor answer at all.
        ('{"status":"ok"}', Refusal.UNUSABLE),
        ("<!DOCTYPE html><title>login</title>", Refusal.UNUSABLE),
    ],
)
def test_refusals_and_garbage_are_classified_the_code_first_then_pace_then_auth_then_quota(text, refusal):
    answer = parse_answer(text, "auto", NOW)
    assert answer.endpoints == []
    assert answer.refusal is refusal, answer.message
    assert answer.message


def test_an_expiry_at_or_before_now_is_still_an_endpoint_the_manager_judges_it():
    """Now is ours; the vendor's clock may differ (issue 11.6): the ProxyManager corrects and decides."""
    past = '{"code":0,"success":true,"data":[{"ip":"1.2.3.4","port":80,"expire_time":"2026-03-02 09:59:00"}]}'
    assert parse_answer(past, "auto", NOW).endpoints == [
        Endpoint("1.2.3.4", 80, NOW - dt.timedelta(seconds=60))
    ]
    zero = '{"code":0,"msg":"","data":{"proxy_list":["1.2.3.4:8080,0"]}}'
    assert parse_answer(zero, "auto", NOW).endpoints == [Endpoint("1.2.3.4", 8080, NOW)]


def test_configured_format_is_used():
    assert parse_answer("1.2.3.4:80", "zhima", NOW).refusal is Refusal.UNUSABLE
    assert parse_answer("1.2.3.4:80", "text", NOW).endpoints == [Endpoint("1.2.3.4", 80)]


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=80), fmt=st.sampled_from(["auto", "text", "zhima", "kuaidaili"]))
def test_fuzz_never_raises_and_is_either_proxies_or_a_refusal(text, fmt):
    answer = parse_answer(text, fmt, NOW)
    assert bool(answer.endpoints) != (answer.refusal is not None)
    for ep in answer.endpoints:
        assert 1 <= ep.port <= 65535
        assert ep.expires_at is None or ep.expires_at.tzinfo is not None
