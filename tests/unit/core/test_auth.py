"""Token verification: every accepted and rejected case, with real keys and a real JWKS over HTTP."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterator

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from api_support import ISSUER, JwksServer, SigningKeys, claims_for, hs256_token
from opsdata.core.auth import AuthError, JwksCache, KeysUnavailable, TokenVerifier
from opsdata.core.settings import LOCAL_JWT_SECRET

USER = uuid.uuid4()


@pytest.fixture(scope="module")
def keys() -> SigningKeys:
    return SigningKeys()


@pytest.fixture
def jwks_server(keys: SigningKeys) -> Iterator[JwksServer]:
    with JwksServer(keys.jwks()) as server:
        yield server


@pytest.fixture
def verifier(jwks_server: JwksServer) -> TokenVerifier:
    return TokenVerifier(issuer=ISSUER, hs256_secret=LOCAL_JWT_SECRET, jwks=JwksCache(jwks_server.url))


def es256(keys: SigningKeys, **overrides: object) -> str:
    return jwt.encode(claims_for(USER, **overrides), keys.ec_key, algorithm="ES256", headers={"kid": keys.ec_kid})


def rs256(keys: SigningKeys, **overrides: object) -> str:
    return jwt.encode(claims_for(USER, **overrides), keys.rsa_key, algorithm="RS256", headers={"kid": keys.rsa_kid})


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def rejected(verifier: TokenVerifier, token: str) -> str:
    with pytest.raises(AuthError) as caught:
        verifier.verify_header(f"Bearer {token}")
    assert caught.value.challenge.startswith('Bearer realm="opsdata", error="invalid_token"')
    return caught.value.description


def test_accepts_hs256_es256_and_rs256_tokens(verifier: TokenVerifier, keys: SigningKeys) -> None:
    for token in (hs256_token(USER), es256(keys), rs256(keys)):
        claims = verifier.verify_header(f"Bearer {token}")
        assert claims["sub"] == str(USER) and claims["role"] == "authenticated"


def test_missing_header_gets_a_challenge_without_error_code(verifier: TokenVerifier) -> None:
    for header in (None, ""):
        with pytest.raises(AuthError) as caught:
            verifier.verify_header(header)
        assert caught.value.challenge == 'Bearer realm="opsdata"'


def test_malformed_tokens(verifier: TokenVerifier) -> None:
    for header in ("Basic dXNlcjpwYXNz", "Bearer ", "Bearer"):
        with pytest.raises(AuthError, match="must be 'Bearer <token>'"):
            verifier.verify_header(header)
    for token in ("not-a-jwt", "a.b.c", "x" * 9000, hs256_token(USER)[:-10] + "!!!!!!!!!!"):
        description = rejected(verifier, token)
        assert description in ("malformed token", "token signature is invalid")


def test_expired_beyond_leeway_is_rejected_within_leeway_accepted(verifier: TokenVerifier) -> None:
    now = int(time.time())
    assert rejected(verifier, hs256_token(USER, iat=now - 600, exp=now - 31)) == "token expired"
    assert verifier.verify(hs256_token(USER, iat=now - 600, exp=now - 20))["sub"] == str(USER)


def test_tokens_from_the_future_are_rejected(verifier: TokenVerifier) -> None:
    now = int(time.time())
    assert "not valid yet" in rejected(verifier, hs256_token(USER, iat=now + 120))
    assert "not valid yet" in rejected(verifier, hs256_token(USER, nbf=now + 120))


def test_wrong_audience_issuer_role_or_subject(verifier: TokenVerifier) -> None:
    assert "audience" in rejected(verifier, hs256_token(USER, aud="anon"))
    assert "issuer" in rejected(verifier, hs256_token(USER, iss="https://evil.example/auth/v1"))
    assert "role" in rejected(verifier, hs256_token(USER, role="service_role"))
    assert "subject" in rejected(verifier, hs256_token("not-a-uuid"))
    for claim in ("exp", "iat", "sub", "aud", "iss", "role"):
        assert claim in rejected(verifier, hs256_token(USER, **{claim: None}))


def test_legacy_anon_and_service_role_keys_are_rejected(verifier: TokenVerifier) -> None:
    now = int(time.time())
    for role in ("anon", "service_role"):
        api_key = jwt.encode(
            {"iss": "supabase", "ref": "abcdefgh", "role": role, "iat": now, "exp": now + 10**8},
            LOCAL_JWT_SECRET,
            algorithm="HS256",
        )
        assert rejected(verifier, api_key)


def test_wrong_secret_is_an_invalid_signature(verifier: TokenVerifier) -> None:
    assert rejected(verifier, hs256_token(USER, secret="another-secret-that-is-long-enough-32b")) == (
        "token signature is invalid"
    )


def test_alg_none_is_rejected(verifier: TokenVerifier) -> None:
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims_for(USER))}."
    assert "unsupported token algorithm" in rejected(verifier, unsigned)


def test_algorithm_confusion_rsa_public_key_as_hmac_secret(verifier: TokenVerifier, keys: SigningKeys) -> None:
    # Given an attacker who signs HS256 with the RSA public key (PEM) that the JWKS publishes
    pem = keys.rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = f"{_b64({'alg': 'HS256', 'typ': 'JWT', 'kid': keys.rsa_kid})}.{_b64(claims_for(USER))}"
    import hashlib
    import hmac

    signature = base64.urlsafe_b64encode(hmac.new(pem, signing_input.encode(), hashlib.sha256).digest())
    forged = f"{signing_input}.{signature.rstrip(b'=').decode()}"
    # Then the HS256 path checks it against the project secret only, and it fails
    assert rejected(verifier, forged) == "token signature is invalid"


def test_algorithm_must_match_the_named_key(verifier: TokenVerifier, keys: SigningKeys) -> None:
    # an RS256 token naming the EC key's kid
    token = jwt.encode(claims_for(USER), keys.rsa_key, algorithm="RS256", headers={"kid": keys.ec_kid})
    assert "does not match" in rejected(verifier, token)


def test_unknown_kid_refetches_once_then_is_rate_limited(keys: SigningKeys, jwks_server: JwksServer) -> None:
    cache = JwksCache(jwks_server.url, min_refetch_seconds=0.3)
    verifier = TokenVerifier(issuer=ISSUER, hs256_secret=None, jwks=cache)
    verifier.verify(es256(keys))
    assert jwks_server.fetches == 1
    time.sleep(0.35)
    stranger = SigningKeys()
    token = jwt.encode(claims_for(USER), stranger.ec_key, algorithm="ES256", headers={"kid": "rotated-in"})
    assert rejected(verifier, token) == "unknown signing key (kid)"
    assert jwks_server.fetches == 2  # an unknown kid may be a new key: refetched
    for _ in range(5):
        rejected(verifier, token)
    assert jwks_server.fetches == 2  # but not again within the rate limit


def test_rotated_key_is_picked_up_on_unknown_kid(keys: SigningKeys, jwks_server: JwksServer) -> None:
    verifier = TokenVerifier(issuer=ISSUER, hs256_secret=None, jwks=JwksCache(jwks_server.url, min_refetch_seconds=0))
    verifier.verify(es256(keys))
    rotated = SigningKeys()
    jwks_server.document = rotated.jwks()
    token = jwt.encode(claims_for(USER), rotated.ec_key, algorithm="ES256", headers={"kid": rotated.ec_kid})
    assert verifier.verify(token)["sub"] == str(USER)


def test_keys_are_never_used_past_max_age(keys: SigningKeys, jwks_server: JwksServer) -> None:
    cache = JwksCache(jwks_server.url, max_age_seconds=0.2, min_refetch_seconds=0)
    verifier = TokenVerifier(issuer=ISSUER, hs256_secret=None, jwks=cache)
    verifier.verify(es256(keys))
    time.sleep(0.25)
    jwks_server.fail = True
    with pytest.raises(KeysUnavailable):
        verifier.verify(es256(keys))


def test_jwks_down_is_unavailable_not_a_bad_token(keys: SigningKeys) -> None:
    cache = JwksCache("http://127.0.0.1:9/auth/v1/.well-known/jwks.json", timeout_seconds=0.5)
    verifier = TokenVerifier(issuer=ISSUER, hs256_secret=None, jwks=cache)
    with pytest.raises(KeysUnavailable):
        verifier.verify(es256(keys))
    with pytest.raises(KeysUnavailable):  # within the refetch interval: no new attempt
        verifier.verify(es256(keys))
    assert cache.fetches == 1


def test_hs256_can_be_disabled(jwks_server: JwksServer, keys: SigningKeys) -> None:
    verifier = TokenVerifier(issuer=ISSUER, hs256_secret="", jwks=JwksCache(jwks_server.url))
    assert "HS256 tokens are not accepted" in rejected(verifier, hs256_token(USER))
    assert verifier.verify(rs256(keys))["sub"] == str(USER)


def test_a_verified_token_is_remembered_briefly_and_never_past_exp(verifier: TokenVerifier) -> None:
    now = int(time.time())
    token = hs256_token(USER, iat=now - 100, exp=now + 2 - 30)  # expires (with leeway) in 2 s
    first = verifier.verify(token)
    assert verifier.verify(token) is first  # remembered: not decoded again
    time.sleep(2.2)
    assert rejected(verifier, token) == "token expired"
    short = TokenVerifier(issuer=ISSUER, hs256_secret=LOCAL_JWT_SECRET, jwks=None, remember_seconds=0)
    fresh = hs256_token(USER)
    assert short.verify(fresh) is not short.verify(fresh)  # forgotten at once: verified again
