"""Request dependencies: the services bundle and the authenticated principal."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request

from adapters.clickhouse.analyst import AnalystSql
from adapters.postgres.calls_view import PostgresCallsView
from adapters.postgres.campaigns_view import PostgresCampaignsView
from adapters.postgres.command_runner import PostgresCommandRunner
from adapters.postgres.conversations_view import PostgresConversationsView
from adapters.postgres.dead_letters import PostgresDeadLetters
from adapters.postgres.event_store import PostgresEventStore
from adapters.postgres.inbox import PostgresInbox
from adapters.postgres.messages_view import PostgresMessagesView
from adapters.postgres.projects import Principal, ProjectDirectory
from entrypoints.api.errors import ApiError
from entrypoints.api.metrics import Metrics
from entrypoints.api.public_url import Network, trusted_networks
from entrypoints.api.rate_limit import TokenBuckets
from entrypoints.api.realtime import RealtimeHub
from entrypoints.api.tokens import RealtimeTokens
from entrypoints.settings import Settings


@dataclass
class Services:
    settings: Settings
    projects: ProjectDirectory
    inbox: PostgresInbox
    calls: PostgresCallsView
    hub: RealtimeHub
    tokens: RealtimeTokens
    store: PostgresEventStore
    commands: PostgresCommandRunner
    messages: PostgresMessagesView
    campaign_views: PostgresCampaignsView
    conversations: PostgresConversationsView
    analyst: AnalystSql
    dead_letters: PostgresDeadLetters
    metrics: Metrics
    webhook_rate: TokenBuckets = field(init=False)
    trusted_proxies: tuple[Network, ...] = field(init=False)

    def __post_init__(self) -> None:
        s = self.settings
        self.webhook_rate = TokenBuckets(s.webhook_rate_per_second, s.webhook_rate_burst)
        self.trusted_proxies = trusted_networks(s.trusted_proxies)


async def get_services(request: Request) -> Services:
    """Async on purpose: FastAPI runs sync dependencies in a thread pool, per request."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]

UNAUTHENTICATED = ApiError(
    401,
    "UNAUTHENTICATED",
    "An API key is required",
    ["Send `Authorization: Bearer <key>`; `switchboard projects create` prints one."],
    headers={"WWW-Authenticate": "Bearer"},
)


async def get_principal(request: Request, services: ServicesDep) -> Principal:
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not key:
        raise UNAUTHENTICATED
    principal = await services.projects.by_api_key(key.strip())
    if principal is None:
        raise ApiError(
            401,
            "API_KEY_INVALID",
            "This API key is not valid",
            ["Check for a typo or a revoked key; create a new key if needed."],
            headers={"WWW-Authenticate": "Bearer"},
        )
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require_roles(*roles: str) -> Any:
    """A dependency admitting keys whose role is one of `roles`; others get 403
    ROLE_FORBIDDEN naming the role they have and the roles that would do."""

    async def check(principal: PrincipalDep) -> Principal:
        if principal.role not in roles:
            raise ApiError(
                403,
                "ROLE_FORBIDDEN",
                "This API key's role may not do this",
                [f"Use a key whose role is one of: {', '.join(roles)}."],
                {"role": principal.role, "allowed_roles": list(roles)},
            )
        return principal

    return Depends(check)


AdminDep = Annotated[Principal, require_roles("admin")]
OperatorDep = Annotated[Principal, require_roles("admin", "operator")]
AnalystDep = Annotated[Principal, require_roles("admin", "analyst")]
