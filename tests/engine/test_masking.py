from boardsync_dagster.engine.masking import Redactor, mask_url
from boardsync_dagster.engine.proxy import ProxySettings

KEY = "s3cr3t-Key-0123456789"
API = f"http://vendor.example:8000/get?key={KEY}&num=1&type=json"


def test_mask_url_hides_query_and_userinfo():
    assert KEY not in mask_url(API)
    assert mask_url(API) == "http://vendor.example:8000/get?***"
    assert mask_url("http://alice:pw123@10.0.0.1:3128") == "http://***@10.0.0.1:3128"


def test_redactor_removes_every_secret_form():
    redact = Redactor([API, "http://alice:pw123@10.0.0.1:3128", "bob", "hunter2pass"])
    text = f"failed {API} with alice:pw123 and hunter2pass, key={KEY} quoted s3cr3t%2DKey"
    out = redact(text)
    for secret in (KEY, "pw123", "hunter2pass", "alice"):
        assert secret not in out
    assert redact("invalid_json") == "invalid_json"  # non-secret query values (type=json) are left alone
    assert KEY not in repr(redact)


def test_settings_repr_hides_secrets():
    settings = ProxySettings(proxy_api=API, user="alice", password="hunter2pass")
    shown = repr(settings) + str(settings)
    for secret in (KEY, "alice", "hunter2pass"):
        assert secret not in shown
