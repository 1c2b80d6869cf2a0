"""Supabase access tokens, verified with PyJWT.

- HS256 with the project's (legacy) JWT secret, when one is configured.
- ES256 / RS256 with the public keys of the project's JWKS (<SUPABASE_URL>/auth/v1/.well-known/
  jwks.json): fetched over HTTP, kept at most 10 minutes, refetched when a token names an unknown
  `kid` (at most once per `min_refetch_seconds`, so forged kids cannot hammer the endpoint).

The algorithm decides the key source, and the key must match the algorithm, so an RS256 public
key can never be used as an HS256 secret (algorithm confusion), and `alg: none` is refused.
Required: a valid signature, `exp` (30 s leeway), `iat` / `nbf` not in the future,
`aud = authenticated`, `iss = <SUPABASE_URL>/auth/v1`, `role = authenticated` and a `sub` that
is a user id. The legacy anon and service_role keys fail (iss "supabase", no sub, other role).

PyJWT and cryptography are imported on the first token, not when the module loads: /health and
cold starts do not pay for them.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jwt import PyJWK

AUDIENCE = "authenticated"
LEEWAY_SECONDS = 30
REQUIRED_CLAIMS = ["exp", "iat", "sub", "aud", "iss", "role"]
JWKS_ALGORITHMS = ("ES256", "RS256")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
MAX_TOKEN_LENGTH = 8192


class AuthError(Exception):
    """A request without a usable token: 401 with a WWW-Authenticate challenge."""

    def __init__(self, description: str, *, token_present: bool = True) -> None:
        super().__init__(description)
        self.description = description
        self.token_present = token_present

    @property
    def challenge(self) -> str:
        if not self.token_present:  # RFC 6750 3.1: no error code when no credentials were sent
            return 'Bearer realm="opsdata"'
        escaped = self.description.replace("\\", "\\\\").replace('"', '\\"')
        return f'Bearer realm="opsdata", error="invalid_token", error_description="{escaped}"'


class KeysUnavailable(Exception):
    """The JWKS could not be fetched, so ES256/RS256 tokens cannot be checked now (503)."""


class JwksCache:
    """The project's signing keys by kid, fetched over HTTP and never kept past `max_age_seconds`."""

    def __init__(
        self,
        url: str,
        *,
        max_age_seconds: float = 600,
        min_refetch_seconds: float = 30,
        timeout_seconds: float = 3,
    ) -> None:
        self.url = url
        self.max_age = max_age_seconds
        self.min_refetch = min_refetch_seconds
        self.timeout = timeout_seconds
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at: float | None = None  # monotonic time of the last successful fetch
        self._attempted_at: float | None = None  # of the last attempt, successful or not
        self._lock = threading.Lock()
        self.fetches = 0

    def get(self, kid: str) -> PyJWK:
        with self._lock:
            now = time.monotonic()
            if self._fetched_at is None or now - self._fetched_at >= self.max_age:
                self._keys = {}  # never verify with keys older than max_age, even if refetching fails
                if not self._may_attempt(now):
                    raise KeysUnavailable("the JWKS could not be fetched recently")
                self._fetch(now)
            elif kid not in self._keys and self._may_attempt(now):
                self._fetch(now)  # keys rotate: an unknown kid may be a new key
            key = self._keys.get(kid)
        if key is None:
            raise AuthError("unknown signing key (kid)")
        return key

    def _may_attempt(self, now: float) -> bool:
        return self._attempted_at is None or now - self._attempted_at >= self.min_refetch

    def _fetch(self, now: float) -> None:
        self._attempted_at = now
        self.fetches += 1
        import urllib.request  # only when keys are fetched: it costs cold-start time

        try:
            request = urllib.request.Request(self.url, headers={"Accept": "application/json"})  # noqa: S310 - configured https URL
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                document = json.loads(response.read(1_000_000))
        except (OSError, ValueError) as exc:
            raise KeysUnavailable(f"could not fetch the JWKS: {type(exc).__name__}") from exc
        from jwt import PyJWK
        from jwt.exceptions import PyJWKError

        keys: dict[str, PyJWK] = {}
        for entry in document.get("keys", []) if isinstance(document, dict) else []:
            if not isinstance(entry, dict) or entry.get("use", "sig") != "sig" or "kid" not in entry:
                continue
            try:
                keys[str(entry["kid"])] = PyJWK(entry)
            except PyJWKError:
                continue  # a key type or algorithm we do not verify with
        self._keys = keys
        self._fetched_at = now


class TokenVerifier:
    """Verifies tokens; a token already verified is trusted again for at most `remember_seconds`
    (and never past its `exp`): clients send the same token with every request, and PyJWT's
    decoding costs about half a millisecond."""

    def __init__(
        self,
        *,
        issuer: str,
        hs256_secret: str | None,
        jwks: JwksCache | None,
        remember_seconds: float = 60,
        remember_max: int = 1024,
    ) -> None:
        self.issuer = issuer
        self.hs256_secret = hs256_secret or None
        self.jwks = jwks
        self.remember_seconds = remember_seconds
        self.remember_max = remember_max
        self._verified: OrderedDict[str, tuple[float, dict[str, Any]]] = OrderedDict()
        self._verified_lock = threading.Lock()

    def verify_header(self, authorization: str | None) -> dict[str, Any]:
        """The verified claims of an `Authorization: Bearer <token>` header."""
        if not authorization:
            raise AuthError("missing bearer token", token_present=False)
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthError("the Authorization header must be 'Bearer <token>'")
        return self.verify(token.strip())

    def verify(self, token: str) -> dict[str, Any]:
        with self._verified_lock:
            remembered = self._verified.get(token)
            if remembered is not None:
                if time.monotonic() < remembered[0] and time.time() <= remembered[1]["exp"] + LEEWAY_SECONDS:
                    self._verified.move_to_end(token)
                    return remembered[1]
                del self._verified[token]
        claims = self._verify(token)
        with self._verified_lock:
            self._verified[token] = (time.monotonic() + self.remember_seconds, claims)
            while len(self._verified) > self.remember_max:
                self._verified.popitem(last=False)
        return claims

    def _verify(self, token: str) -> dict[str, Any]:
        import jwt

        if len(token) > MAX_TOKEN_LENGTH:
            raise AuthError("malformed token")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise AuthError("malformed token") from exc
        algorithm = header.get("alg")
        key: Any
        if algorithm == "HS256":
            if self.hs256_secret is None:
                raise AuthError("HS256 tokens are not accepted by this deployment")
            key = self.hs256_secret
        elif algorithm in JWKS_ALGORITHMS:
            if self.jwks is None:
                raise AuthError(f"{algorithm} tokens are not accepted by this deployment")
            kid = header.get("kid")
            if not isinstance(kid, str) or not kid:
                raise AuthError("token has no key id (kid)")
            jwk = self.jwks.get(kid)
            if jwk.algorithm_name != algorithm:
                raise AuthError("token algorithm does not match its signing key")
            key = jwk.key
        else:
            raise AuthError(f"unsupported token algorithm: {str(algorithm)[:20]}")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=AUDIENCE,
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.ExpiredSignatureError as exc:
            raise AuthError("token expired") from exc
        except jwt.ImmatureSignatureError as exc:
            raise AuthError("token is not valid yet (iat or nbf in the future)") from exc
        except jwt.InvalidAudienceError as exc:
            raise AuthError("token audience must be 'authenticated'") from exc
        except jwt.InvalidIssuerError as exc:
            raise AuthError("token issuer is not this project's Auth server") from exc
        except jwt.MissingRequiredClaimError as exc:
            raise AuthError(f"token lacks the {exc.claim} claim") from exc
        except jwt.InvalidSignatureError as exc:
            raise AuthError("token signature is invalid") from exc
        except jwt.InvalidTokenError as exc:
            raise AuthError("malformed token") from exc
        if claims.get("role") != "authenticated":
            raise AuthError("token role must be 'authenticated' (API keys are not user tokens)")
        if not isinstance(claims.get("sub"), str) or not _UUID.match(claims["sub"]):
            raise AuthError("token subject (sub) must be a user id")
        return claims
