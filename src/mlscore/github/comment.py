"""The sticky pull-request comment: find ours by a hidden marker, then create it once or update it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import httpx

MARKER = "<!-- mlscore:report -->"
#: The REST API rejects bodies over 65,536 characters ("Body is too long").
MAX_BODY_CHARS = 65_536
_MAX_PAGES = 50
_NEXT_RE = re.compile(r'<([^>]+)>\s*;\s*rel="next"')


class CommentError(Exception):
    """The comment could not be written; the caller turns this into a workflow warning, never a failure."""


@dataclass(frozen=True)
class CommentResult:
    action: Literal["created", "updated", "unchanged"]
    id: int
    url: str


def _is_ours(comment: Any) -> bool:
    if not isinstance(comment, dict):
        return False
    body = comment.get("body")
    user = comment.get("user")
    if not isinstance(user, dict):
        user = {}
    # Only a bot's comment is ours: a person who quotes the marker is never edited.
    return (
        isinstance(body, str)
        and MARKER in body
        and (user.get("type") == "Bot" or user.get("login") == "github-actions[bot]")
    )


class CommentClient:
    """A minimal GitHub REST client for issue comments (httpx, explicit headers and timeouts)."""

    def __init__(
        self,
        api_url: str,
        token: str,
        repository: str,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 20.0,
    ) -> None:
        import httpx

        if not re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", repository):
            raise CommentError(f"GITHUB_REPOSITORY {repository!r} is not owner/name")
        self._repo = repository
        self._client = httpx.Client(
            base_url=api_url.rstrip("/"),
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
                "User-Agent": "mlscore",
            },
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> CommentClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        import httpx

        try:
            response = self._client.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            raise CommentError(f"{method} {url}: {type(exc).__name__}: {exc}") from None
        if response.status_code >= 400:
            message = ""
            try:
                data = response.json()
                message = str(data.get("message", "")) if isinstance(data, dict) else ""
            except ValueError:
                pass
            hint = ""
            if response.status_code in (401, 403, 404):
                hint = " (the token cannot write here: a fork or Dependabot pull request, or no `pull-requests: write`)"
            raise CommentError(
                f"{method} {url}: HTTP {response.status_code} {message[:200]}{hint}".rstrip()
            )
        return response

    def _pages(self, url: str | None, what: str) -> Iterator[list[Any]]:
        """The JSON lists of a paginated GET, following ``Link: rel="next"`` within the API (at most 50 pages)."""
        for _ in range(_MAX_PAGES):
            if url is None:
                break
            response = self._request("GET", url)
            try:
                items = response.json()
            except ValueError:
                raise CommentError(f"GET {url}: response is not JSON") from None
            if not isinstance(items, list):
                raise CommentError(f"GET {url}: expected a list of {what}")
            yield items
            match = _NEXT_RE.search(response.headers.get("link", ""))
            url = match.group(1) if match else None
            if url is not None and not url.startswith(str(self._client.base_url)):
                raise CommentError(f"pagination link {url!r} leaves the API")

    def find(self, number: int) -> dict[str, Any] | None:
        """Our existing comment on pull request ``number``, following pagination."""
        for comments in self._pages(f"/repos/{self._repo}/issues/{number}/comments?per_page=100", "comments"):
            for comment in comments:
                if _is_ours(comment):
                    return comment  # type: ignore[no-any-return]
        return None

    def pull_files(self, number: int) -> list[Any]:
        """The files of pull request ``number`` with their patches (the API lists at most 3,000)."""
        out: list[Any] = []
        for files in self._pages(f"/repos/{self._repo}/pulls/{number}/files?per_page=100", "files"):
            out.extend(files)
        return out

    def upsert(self, number: int, body: str) -> CommentResult:
        """Create our comment, or update it in place; skip the update when nothing changed."""
        if MARKER not in body:
            body = f"{MARKER}\n{body}"
        if len(body) > MAX_BODY_CHARS:
            raise CommentError(
                f"comment body has {len(body)} characters, more than {MAX_BODY_CHARS}"
            )
        existing = self.find(number)
        if existing is not None:
            comment_id = int(existing["id"])
            url = str(existing.get("html_url", ""))
            if existing.get("body") == body:
                return CommentResult("unchanged", comment_id, url)
            data = self._request(
                "PATCH", f"/repos/{self._repo}/issues/comments/{comment_id}", json={"body": body}
            ).json()
            return CommentResult("updated", comment_id, str(data.get("html_url", url)))
        data = self._request(
            "POST", f"/repos/{self._repo}/issues/{number}/comments", json={"body": body}
        ).json()
        return CommentResult("created", int(data["id"]), str(data.get("html_url", "")))
