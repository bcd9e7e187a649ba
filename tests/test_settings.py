from __future__ import annotations

import pytest

from airflow_provider_hubspot_imports.core.settings import (
    DEFAULT_BASE_URL,
    KNOWN_EXTRAS,
    parse_base_url,
    settings_from_connection_fields,
    unknown_extras,
)
from airflow_provider_hubspot_imports.errors import HubSpotInputError

TOKEN = "pat-na1-11111111-2222-3333-4444-555555555555"


def settings(host=None, port=None, password=TOKEN, **extras):
    return settings_from_connection_fields(
        conn_id="hs", host=host, port=port, password=password, extras=extras
    )


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        (None, None, DEFAULT_BASE_URL),
        ("", None, DEFAULT_BASE_URL),
        ("api.hubapi.com", None, "https://api.hubapi.com"),
        ("https://api-eu1.hubapi.com", None, "https://api-eu1.hubapi.com"),
        ("https://api-eu1.hubapi.com/", None, "https://api-eu1.hubapi.com"),
        ("HTTPS://api.hubapi.com", None, "https://api.hubapi.com"),
        ("http://127.0.0.1:8765", None, "http://127.0.0.1:8765"),
        ("http://127.0.0.1", 8765, "http://127.0.0.1:8765"),
        ("http://localhost:1", None, "http://localhost:1"),
        ("http://[::1]:9000", None, "http://[::1]:9000"),
        ("proxy.example.com", 8443, "https://proxy.example.com:8443"),
    ],
)
def test_base_url_forms(host, port, expected):
    assert parse_base_url(host, port) == expected


@pytest.mark.parametrize(
    ("host", "port", "fragment"),
    [
        ("http://api.hubapi.com", None, "unencrypted"),
        ("http://10.0.0.5:8080", None, "unencrypted"),
        ("https://api.hubapi.com/crm/v3", None, "path, query or fragment"),
        ("https://api.hubapi.com?x=1", None, "path, query or fragment"),
        ("https://user:pw@api.hubapi.com", None, "user information"),
        ("api.hubapi.com/crm", None, "not a host name"),
        ("ftp://api.hubapi.com", None, "scheme 'ftp'"),
        ("https://api.hubapi.com:443", 8443, "Keep one"),
        ("https://api.hubapi.com:99999", None, "invalid port"),
    ],
)
def test_bad_hosts_are_refused_with_the_reason(host, port, fragment):
    with pytest.raises(HubSpotInputError, match=fragment):
        parse_base_url(host, port, "hs")


def test_defaults_and_extras():
    s = settings()
    assert (s.api_version, s.timeout, s.max_retries, s.retry_max_seconds) == ("2026-03", 30.0, 5, 120.0)
    s = settings(api_version="v3", timeout="5", max_retries="0", retry_max_seconds=9, portal_id=" 123 ")
    assert (s.api_version, s.timeout, s.max_retries, s.retry_max_seconds, s.portal_id) == (
        "v3",
        5.0,
        0,
        9.0,
        "123",
    )
    assert settings(extra__hubspot__timeout="7").timeout == 7.0  # Airflow 2 form prefix


@pytest.mark.parametrize(
    ("extras", "fragment"),
    [
        ({"api_version": "v4"}, "Extra 'api_version'"),
        ({"api_version": "2025-03"}, "Extra 'api_version'"),
        ({"api_version": "2026-04"}, "Extra 'api_version'"),
        ({"verify": 2}, "Extra 'verify'"),
        ({"verify": "/etc/ssl/a.pem", "ca_bundle": "/etc/ssl/b.pem"}, "two CA bundles"),
        ({"timeout": "0"}, "positive number"),
        ({"timeout": "-3"}, "positive number"),
        ({"timeout": "soon"}, "not a number"),
        ({"timeout": True}, "not a number"),
        ({"max_retries": "-1"}, "whole number"),
        ({"retry_max_seconds": "inf"}, "positive number"),
        ({"verify": "false"}, "never does"),
    ],
)
def test_bad_extras_are_refused(extras, fragment):
    with pytest.raises(HubSpotInputError, match=fragment) as caught:
        settings(**extras)
    assert "'hs'" in str(caught.value)


@pytest.mark.parametrize("password", [None, "", "   "])
def test_missing_token(password):
    with pytest.raises(HubSpotInputError, match="has no access token"):
        settings(password=password)


@pytest.mark.parametrize("password", [TOKEN + "\n", " " + TOKEN, "pat-na1 abc"])
def test_token_with_whitespace_is_refused_without_echoing_it(password):
    with pytest.raises(HubSpotInputError, match="contains whitespace") as caught:
        settings(password=password)
    assert password.strip() not in str(caught.value)


def test_repr_hides_token_and_tls_is_always_verified():
    s = settings(ca_bundle="/etc/ssl/corp.pem")
    assert TOKEN not in repr(s)
    assert s.verify == "/etc/ssl/corp.pem"
    assert settings().verify is True


@pytest.mark.parametrize("version", ["2025-09", "2026-03", "2026-09", "v3", "2027-03", "2031-09"])
def test_every_published_api_version_is_accepted_and_future_ones_too(version):
    assert settings(api_version=version).api_version == version


@pytest.mark.parametrize("verify", ["/etc/ssl/corp.pem", " /etc/ssl/corp.pem "])
def test_a_requests_style_verify_path_is_the_ca_bundle(verify):
    assert settings(verify=verify).ca_bundle == "/etc/ssl/corp.pem"
    assert settings(verify=verify, ca_bundle="/etc/ssl/corp.pem").ca_bundle == "/etc/ssl/corp.pem"


@pytest.mark.parametrize("verify", [True, "true", "True"])
def test_verify_true_is_the_default_trust(verify):
    assert settings(verify=verify).ca_bundle is None


def test_unknown_extras_are_named_whatever_their_form_prefix():
    extras = {
        "time_out": 3,
        "extra__hubspot__timeout": 3,
        "extra__hubspot__proxy": "x",
        **dict.fromkeys(KNOWN_EXTRAS),
    }
    assert unknown_extras(extras) == ["extra__hubspot__proxy", "time_out"]
