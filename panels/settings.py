"""The project's settings, one module every stage reads (in the manner of the kubernetes-mixin's `_config`).

Two parts: the platform's wiring, fixed here (datasource, scrape interval, rule windows and names, addresses,
Grafana folder, the overview's uid), and what the users choose in dashboards/settings.py (`ProjectSettings`:
titles, alert routing, runbooks), with `DEFAULTS` when they choose nothing. Alert thresholds per module are
the contract's `Objectives` (moddash.contract), whose defaults live there so services need nothing else.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

import attrs

from moddash.contract import ModuleContract
from panels.promql import seconds

# -- the platform's wiring -------------------------------------------------------------------------------------

# How often Prometheus scrapes the modules and evaluates these rules (prometheus.yml's global intervals,
# and Grafana's datasource timeInterval): totals integrate recorded samples this far apart.
SCRAPE_INTERVAL = "5s"
WINDOW = "1m"  # 12 scrapes at the 5 s scrape interval
ALERT_WINDOW = "5m"
# A module is down when it could not be scraped for more than this share of the alert window.
DOWN_SHARE = 0.2
# Where the runbooks live, relative to the repository; settings may give an absolute base URL.
RUNBOOKS = "RUNBOOKS.md"
SELF_JOB = "prometheus"  # Prometheus' own scrape job (dashbuild/prometheus.py)

OPERATIONS_RATE = "module:operations:rate1m"
ERRORS_RATE = "module:errors:rate1m"
ERROR_RATIO = "module:error_ratio:rate1m"
COST_RATE = "module:cost_usd:rate1m"
TOKENS_RATE = "module:tokens:rate1m"
P95_DURATION = "module:operation_duration_seconds:p95_1m"
UP = "module:up:avg"
TOTAL_OPERATIONS_RATE = "all:operations:rate1m"
# The recorded series above, all of them (dashboards may read these besides the contracts' metrics).
RECORDED_SERIES = frozenset({OPERATIONS_RATE, ERRORS_RATE, ERROR_RATIO, COST_RATE, TOKENS_RATE, P95_DURATION, UP,
                             TOTAL_OPERATIONS_RATE})

# Grafana: the Prometheus datasource every panel uses through the `datasource` variable, and where provisioned
# dashboards go.
DATASOURCE_UID = "prometheus"
DATASOURCE_NAME = "Prometheus"
DATASOURCE_VARIABLE = "datasource"
GRAFANA_FOLDER = "Modules"
OVERVIEW_UID = "modules-overview"
# Where docker-compose mounts the repository's provisioning/ folder inside the Grafana container.
GRAFANA_PROVISIONING = "/etc/grafana/provisioning"
# Addresses as the compose containers see each other.
PROMETHEUS_URL = "http://prometheus:9090"
SELF_ADDRESS = "localhost:9090"  # Prometheus scraping itself
ALERTMANAGER_ADDRESS = "alertmanager:9093"
SCRAPE_SECONDS = int(seconds(SCRAPE_INTERVAL))

# The names the users' own README tells people to look for.
DEFAULT_OVERVIEW_TITLE = "Trainer Modules Overview"
DEFAULT_MODULE_TITLE = "{title} Dashboard"
# Up to this many modules the overview has a collapsed section per module; beyond it, one table of all modules
# (dashbuild/overview.py), so that its size and panel count stop growing with the number of modules.
OVERVIEW_SECTIONS_MAX = 20
_FIELDS = frozenset({"title", "name", "slug"})


def _title_text(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not value.strip() or not value.isprintable():
        raise ValueError(f"{attribute.name} must be non-blank printable text, got {value!r}")


def _title_pattern(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    _title_text(instance, attribute, value)
    try:
        parsed = [(field, spec, conversion) for _, field, spec, conversion in string.Formatter().parse(value)
                  if field is not None]
    except ValueError as error:
        raise ValueError(f"{attribute.name} {value!r} is not a title pattern: {error}") from None
    used = {field for field, _, _ in parsed}
    if not used or used - _FIELDS or any(spec or conversion for _, spec, conversion in parsed):
        raise ValueError(f"{attribute.name} {value!r} may use only {{title}}, {{name}} and {{slug}} (at least one), "
                         "without format specs")


# Where the default receivers post: Alertmanager's own example webhook receiver listens on :5001, and
# host.docker.internal is the host as the compose container sees it.
DEFAULT_WEBHOOK_URL = "http://host.docker.internal:5001/"
# Alertmanager's <duration>; `0` is refused where Alertmanager refuses it.
_DURATION = re.compile(r"^(\d+y)?(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?$")
_UNSAFE_PATH = re.compile(r"[\s\x00-\x1f\x7f]")
_ADDRESS = re.compile(r"^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$")
_HOST_PORT = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$")
_SLACK_CHANNEL = re.compile(r"^[#@]?[a-z0-9._-]{1,80}$")


def _secret_file(_: object, attribute: attrs.Attribute[str | None], value: str | None) -> None:
    if value is None:
        return
    if not isinstance(value, str) or not value.startswith("/") or _UNSAFE_PATH.search(value) or value.endswith("/"):
        raise ValueError(f"{attribute.name} must be an absolute file path inside the Alertmanager container, e.g. "
                         f"/run/secrets/<name> (a compose secret), got {value!r}: secrets never live in the "
                         "repository")


def _required_secret_file(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if value is None:
        raise ValueError(f"{attribute.name} is required: the file inside the Alertmanager container that holds it")
    _secret_file(instance, attribute, value)  # type: ignore[arg-type]


def _url(_: object, attribute: attrs.Attribute[str | None], value: str | None) -> None:
    if value is None:
        return
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or _UNSAFE_PATH.search(value):
        raise ValueError(f"{attribute.name} must be an http(s) URL with a host, got {value!r}")
    if parts.username is not None or parts.password is not None or parts.query or parts.fragment:
        raise ValueError(f"{attribute.name} {value!r} carries credentials, a query or a fragment: a URL holding a "
                         "secret goes in url_file, a token in credentials_file")


@attrs.frozen
class Webhook:
    """POST each notification as JSON (Alertmanager `webhook_config`).

    `url` is an address without credentials; a URL that is itself a secret goes in `url_file` instead
    (read by Alertmanager 0.26 and later). `credentials_file` holds a bearer token, sent as
    `Authorization: Bearer <token>`.
    """

    url: str | None = attrs.field(default=None, validator=_url)
    url_file: str | None = attrs.field(default=None, validator=_secret_file)
    credentials_file: str | None = attrs.field(default=None, validator=_secret_file)

    def __attrs_post_init__(self) -> None:
        if (self.url is None) == (self.url_file is None):
            raise ValueError(f"Webhook needs exactly one of url and url_file, got url={self.url!r}, "
                             f"url_file={self.url_file!r}")


def _address(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not _ADDRESS.fullmatch(value):
        raise ValueError(f"{attribute.name} must be one e-mail address (name@example.com), got {value!r}")


def _smarthost(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    match = _HOST_PORT.fullmatch(value) if isinstance(value, str) else None
    if match is None or not 1 <= int(match.group(2)) <= 65535:
        raise ValueError(f"{attribute.name} must be HOST:PORT of the SMTP server (smtp.example.com:587), got {value!r}")


@attrs.frozen
class Email:
    """Send each notification by e-mail (Alertmanager `email_config`); the password comes from a file."""

    to: str = attrs.field(validator=_address)
    sender: str = attrs.field(validator=_address)
    smarthost: str = attrs.field(validator=_smarthost)
    auth_username: str | None = attrs.field(default=None)
    auth_password_file: str | None = attrs.field(default=None, validator=_secret_file)
    require_tls: bool = attrs.field(default=True, validator=attrs.validators.instance_of(bool))

    def __attrs_post_init__(self) -> None:
        if self.auth_username is not None and (not isinstance(self.auth_username, str)
                                               or not self.auth_username.strip()
                                               or not self.auth_username.isprintable()):
            raise ValueError(f"auth_username must be non-blank printable text, got {self.auth_username!r}")
        if (self.auth_username is None) != (self.auth_password_file is None):
            raise ValueError("Email needs auth_username and auth_password_file together (or neither)")


def _channel(_: object, attribute: attrs.Attribute[str | None], value: str | None) -> None:
    if value is not None and (not isinstance(value, str) or not _SLACK_CHANNEL.fullmatch(value)):
        raise ValueError(f"{attribute.name} must be a Slack channel such as #alerts, got {value!r}")


@attrs.frozen
class Slack:
    """Post each notification to Slack (Alertmanager `slack_config`); the webhook URL comes from a file."""

    api_url_file: str = attrs.field(validator=_required_secret_file)
    channel: str | None = attrs.field(default=None, validator=_channel)


Notifier = Webhook | Email | Slack


def _notifiers(value: Iterable[Notifier] | Notifier) -> tuple[Notifier, ...]:
    if isinstance(value, Webhook | Email | Slack):
        return (value,)
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise TypeError(f"expected Webhook(...), Email(...) or Slack(...), or a tuple of them, got {value!r}")
    return tuple(value)


def _only_notifiers(_: object, attribute: attrs.Attribute[tuple[Notifier, ...]], value: tuple[Notifier, ...]) -> None:
    for item in value:
        if not isinstance(item, Webhook | Email | Slack):
            raise TypeError(f"{attribute.name}: expected Webhook(...), Email(...) or Slack(...), got {item!r}")


def _duration(nonzero: bool) -> Callable[[object, attrs.Attribute[str], str], None]:
    def check(_: object, attribute: attrs.Attribute[str], value: str) -> None:
        valid = isinstance(value, str) and (value == "0" or (value != "" and _DURATION.fullmatch(value) is not None))
        if not valid or (nonzero and value == "0"):
            raise ValueError(f"{attribute.name} must be an Alertmanager duration such as 30s, 5m or 4h"
                             f"{' (not 0)' if nonzero else ''}, got {value!r}")
    return check


def _default_receiver() -> tuple[Notifier, ...]:
    return (Webhook(url=DEFAULT_WEBHOOK_URL),)


@attrs.frozen
class Alerting:
    """Where Alertmanager sends the alerts (written to alertmanager/alertmanager.yml by the build).

    Alerts with `severity="critical"` go to `page`, `severity="warning"` to `ticket`, anything else to
    `default`; each is one notifier or a tuple of them (an empty tuple drops those notifications).
    Alerts are grouped by `module` and `alertname`; a module's critical alert silences its warnings.
    """

    page: tuple[Notifier, ...] = attrs.field(factory=_default_receiver, converter=_notifiers,
                                             validator=_only_notifiers)
    ticket: tuple[Notifier, ...] = attrs.field(factory=_default_receiver, converter=_notifiers,
                                               validator=_only_notifiers)
    default: tuple[Notifier, ...] = attrs.field(factory=_default_receiver, converter=_notifiers,
                                                validator=_only_notifiers)
    group_wait: str = attrs.field(default="30s", validator=_duration(nonzero=False))
    group_interval: str = attrs.field(default="5m", validator=_duration(nonzero=True))
    repeat_interval: str = attrs.field(default="4h", validator=_duration(nonzero=True))
    send_resolved: bool = attrs.field(default=True, validator=attrs.validators.instance_of(bool))


def _runbooks(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not value or not value.isprintable() or any(c in value for c in " #{}\"\\"):
        raise ValueError(f"{attribute.name} must be a path or URL of the runbooks document without spaces, '#', "
                         f"quotes or braces (alert annotations are Go templates), got {value!r}")


def _count(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{attribute.name} must be a whole number of modules (0 or more), got {value!r}")


@attrs.frozen
class ProjectSettings:
    """Settings of the whole project (`dashboards/settings.py: SETTINGS`); the defaults are the users' names.

    `alerting` says where Alertmanager sends the alerts; the defaults build (a webhook on the docker host).
    Uids do not depend on titles: the overview stays `modules-overview` and each module dashboard its
    module's slug, so bookmarked `/d/<uid>` links keep working when a title changes.
    """

    overview_title: str = attrs.field(default=DEFAULT_OVERVIEW_TITLE, validator=_title_text)
    module_title: str = attrs.field(default=DEFAULT_MODULE_TITLE, validator=_title_pattern)
    alerting: Alerting = attrs.field(factory=Alerting, validator=attrs.validators.instance_of(Alerting))
    # Where every alert's runbook_url points: RUNBOOKS.md in the repository by default, or the URL it is
    # browsed at (e.g. https://git.example.com/team/monitoring/blob/main/RUNBOOKS.md); `#<alert kind>` follows.
    runbooks: str = attrs.field(default=RUNBOOKS, validator=_runbooks)
    # The most modules the overview shows as one section each; with more, a table of all modules replaces them.
    overview_sections_max: int = attrs.field(default=OVERVIEW_SECTIONS_MAX, validator=_count)

    def dashboard_title(self, contract: ModuleContract) -> str:
        """Return the title of a module's dashboard, e.g. `Prompt Manager Dashboard`."""
        return self.title_of(contract.name, contract.title)

    def title_of(self, name: str, title: str) -> str:
        """Return the dashboard title of a module named `name` (snake_case) with the given module title."""
        return self.module_title.format(title=title, name=name, slug=name.replace("_", "-"))


DEFAULTS = ProjectSettings()
