"""`mltrack.uri.redact`, the one redaction function, proven over generated URIs (hypothesis).

Whatever characters a password holds (`/`, `@`, `:`, `#`, `?`, spaces, percent-escapes), written
raw or percent-encoded, with or without a user name, in any scheme, and wherever the URI sits in
a line of text, the password never survives redaction while the host and path do. Secret query
and connection-string values (`password`, `sslpassword`, `token`, `key`, ... in any case, after
`?`, `&` or `;`) are hidden too, and the non-secret ones stay readable.
"""

from __future__ import annotations

import string
from urllib.parse import quote

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from mltrack.secrets import MASK, is_secret_name
from mltrack.uri import parse, redact

SCHEMES = ["http", "https", "postgresql", "postgresql+psycopg", "postgres", "mysql+pymysql",
           "mssql+pyodbc", "wandb", "databricks"]
SECRET_KEYS = ["password", "sslpassword", "token", "access_token", "key", "api_key", "apikey",
               "secret", "client_secret", "sslkey", "passwd", "auth_token", "X-Amz-Credential"]
PLAIN_KEYS = ["sslmode", "mode", "uri", "charset", "timeout", "application_name"]

# Everything a careless user puts in a password, including what must be percent-encoded.
PASSWORD_CHARS = string.ascii_letters + string.digits + "/@:#?% !$&'()*+,;=[]~-._"
passwords = st.text(PASSWORD_CHARS, min_size=4, max_size=24)
users = st.text(string.ascii_lowercase + string.digits + "._-", max_size=10)
hosts = st.one_of(
    st.from_regex(r"[a-z][a-z0-9\-]{0,12}(\.[a-z][a-z0-9]{1,8}){0,2}", fullmatch=True),
    st.integers(1024, 65535).map(lambda port: f"127.0.0.1:{port}"),
)
paths = st.from_regex(r"(/[a-z][a-z0-9_]{0,10}){0,3}", fullmatch=True)
# Where the URI appears: alone, in an error message, quoted by repr, in a list.
CONTEXTS = ["{}", "cannot reach tracking server {}: connection refused", "uri={!r}",
            "API request to {}/api/2.0/mlflow/experiments/search failed", "['{}', 'sqlite:///x.db']",
            "opening {} (from --tracking-uri)\nnext line"]


def _visible(text: str, secret: str) -> bool:
    return secret in text


@settings(max_examples=400, deadline=None)
@given(scheme=st.sampled_from(SCHEMES), user=users, password=passwords, host=hosts, path=paths,
       encode=st.booleans(), context=st.sampled_from(CONTEXTS))
@example(scheme="http", user="user", password="p@ss/word", host="127.0.0.1:5000", path="",
         encode=True, context="{}")
@example(scheme="postgresql", user="", password="pa ss#?:x", host="db", path="/mlflow",
         encode=False, context="{}")
def test_a_userinfo_password_never_survives(scheme, user, password, host, path, encode, context):
    written = quote(password, safe="") if encode else password
    uri = f"{scheme}://{user}:{written}@{host}{path}"
    line = context.format(uri)
    # The secret must be a thing of its own, not a piece of the parts that stay visible.
    assume(password not in context.format(f"{scheme}://{user}:@{host}{path}"))
    assume(written not in context.format(f"{scheme}://{user}:@{host}{path}"))
    out = redact(line)
    assert password not in out and written not in out, out
    assert f"@{host}{path}" in out
    assert f"{user}:{MASK}@" in out


@settings(max_examples=200, deadline=None)
@given(scheme=st.sampled_from(SCHEMES), token=passwords, host=hosts, path=paths,
       context=st.sampled_from(CONTEXTS))
def test_a_bare_token_as_userinfo_never_survives(scheme, token, host, path, context):
    token = quote(token, safe="")  # `https://TOKEN@host`: tokens are written encoded
    assume(token not in context.format(f"{scheme}://@{host}{path}"))
    out = redact(context.format(f"{scheme}://{token}@{host}{path}"))
    assert token not in out and f"{MASK}@{host}{path}" in out


secret_values = st.text(string.ascii_letters + string.digits + "-_.~%+/", min_size=6, max_size=30)


@settings(max_examples=300, deadline=None)
@given(scheme=st.sampled_from(SCHEMES), host=hosts, path=paths, key=st.sampled_from(SECRET_KEYS),
       case=st.sampled_from([str.lower, str.upper, str.title, lambda s: s]), value=secret_values,
       plain=st.sampled_from(PLAIN_KEYS), sep=st.sampled_from(["&", ";"]), secret_first=st.booleans())
def test_query_secrets_are_hidden_and_plain_parameters_kept(scheme, host, path, key, case, value,
                                                             plain, sep, secret_first):
    secret, kept = f"{case(key)}={value}", f"{plain}=require"
    query = f"{secret}{sep}{kept}" if secret_first else f"{kept}{sep}{secret}"
    uri = f"{scheme}://{host}{path}?{query}"
    assume(value not in f"{scheme}://{host}{path}?{kept}")
    out = redact(f"cannot open {uri}: timeout")
    assert value not in out, out
    assert f"{case(key)}={MASK}" in out and kept in out and f"{host}{path}?" in out


@pytest.mark.parametrize(("text", "hidden", "kept"), [
    # libpq keyword/value and ODBC-style connection strings
    ("host=db port=5432 password=hunter22 dbname=x", "hunter22", "dbname=x"),
    ("Server=db;Database=x;Password=hunter22;", "hunter22", "Database=x"),
    ("host=db password='two words' user=u", "two words", "user=u"),
    # a percent-escape in the password, and an alias after the URI on the same line
    ("http://u:p%2540ss@h:5000 loading models:/m@production", "p%2540ss", "models:/m@production"),
    # the URI of a W&B API with the key as userinfo
    ("wandb://0123456789abcdef0123456789abcdef01234567@entity/project", "0123456789abcdef", "@entity/project"),
])
def test_connection_strings_and_neighbours(text: str, hidden: str, kept: str) -> None:
    out = redact(text)
    assert hidden not in out and kept in out, out


def test_uris_without_secrets_are_unchanged() -> None:
    for text in ["sqlite:///tmp/mlflow.db", "sqlite:///file:%2Ftmp%2Fa.db?mode=ro&uri=true",
                 "http://127.0.0.1:5000", "postgresql://db/mlflow?sslmode=require",
                 "wandb-offline:/runs", "max_tokens=512 tokenizer=bert", "models:/m@production",
                 "tracking server http://h:5000: `models:/m@production` moved"]:
        assert redact(text) == text


def test_a_tracking_uri_prints_redacted() -> None:
    parsed = parse("postgresql+psycopg://alice:s/e@cret@db:5432/mlflow?sslpassword=xyz")
    assert str(parsed) == parsed.redacted == "postgresql+psycopg://alice:***@db:5432/mlflow?sslpassword=***"


@given(st.text(string.ascii_letters + "_-.", min_size=1, max_size=40))
def test_secret_names_are_case_insensitive(name: str) -> None:
    assert is_secret_name(name) == is_secret_name(name.upper()) == is_secret_name(name.lower())
