"""alertmanager/alertmanager.yml from the project's settings: routing by severity, grouping, inhibition, receivers.

The config uses only keys Alertmanager 0.25 reads (Debian's amtool checks it), except `url_file`, which a
webhook uses only when the settings ask for it (Alertmanager 0.26 and later). URLs that are secrets and
passwords are never written here: the config names files (compose secrets under /run/secrets/).
"""

from __future__ import annotations

from typing import Any

from dashbuild.files import dump_yaml
from panels.settings import Alerting, Email, Notifier, Slack, Webhook

CONFIG_DIR = "alertmanager"
CONFIG_FILE = f"{CONFIG_DIR}/alertmanager.yml"
PAGE, TICKET, DEFAULT = "page", "ticket", "default"
GROUP_BY = ("module", "alertname")
BASELINE_VERSION = (0, 25)
URL_FILE_VERSION = (0, 26)

# Slack shows only what the template says; the summary and runbook link are what the on-call person needs.
_SLACK_TITLE = '[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }} ({{ .CommonLabels.module }})'
_SLACK_TEXT = ('{{ range .Alerts }}{{ .Annotations.summary }}'
               '{{ if .Annotations.runbook_url }} <{{ .Annotations.runbook_url }}|runbook>{{ end }}\n{{ end }}')


def _webhook(webhook: Webhook, send_resolved: bool) -> dict[str, Any]:
    config: dict[str, Any] = {"send_resolved": send_resolved}
    if webhook.url is not None:
        config["url"] = webhook.url
    else:
        config["url_file"] = webhook.url_file
    if webhook.credentials_file is not None:
        config["http_config"] = {"authorization": {"type": "Bearer", "credentials_file": webhook.credentials_file}}
    return config


def _email(email: Email, send_resolved: bool) -> dict[str, Any]:
    config: dict[str, Any] = {"to": email.to, "from": email.sender, "smarthost": email.smarthost,
                              "require_tls": email.require_tls, "send_resolved": send_resolved}
    if email.auth_username is not None:
        config["auth_username"] = email.auth_username
        config["auth_password_file"] = email.auth_password_file
    return config


def _slack(slack: Slack, send_resolved: bool) -> dict[str, Any]:
    config: dict[str, Any] = {"api_url_file": slack.api_url_file, "send_resolved": send_resolved,
                              "title": _SLACK_TITLE, "text": _SLACK_TEXT}
    if slack.channel is not None:
        config["channel"] = slack.channel
    return config


def receiver(name: str, notifiers: tuple[Notifier, ...], send_resolved: bool) -> dict[str, Any]:
    """Return one Alertmanager receiver; with no notifiers it receives and drops its alerts."""
    config: dict[str, Any] = {"name": name}
    for key, entries in (
        ("webhook_configs", [_webhook(n, send_resolved) for n in notifiers if isinstance(n, Webhook)]),
        ("email_configs", [_email(n, send_resolved) for n in notifiers if isinstance(n, Email)]),
        ("slack_configs", [_slack(n, send_resolved) for n in notifiers if isinstance(n, Slack)]),
    ):
        if entries:
            config[key] = entries
    return config


def alertmanager_config(alerting: Alerting) -> dict[str, Any]:
    """Return alertmanager.yml: critical alerts page, warnings open tickets, criticals inhibit their module's warnings.

    Matchers use the `label="value"` syntax that both the classic parser (0.25) and the UTF-8 parser
    (0.27 and later) read the same way.
    """
    return {
        "route": {
            "receiver": DEFAULT,
            "group_by": list(GROUP_BY),
            "group_wait": alerting.group_wait,
            "group_interval": alerting.group_interval,
            "repeat_interval": alerting.repeat_interval,
            "routes": [
                {"receiver": PAGE, "matchers": ['severity="critical"']},
                {"receiver": TICKET, "matchers": ['severity="warning"']},
            ],
        },
        "inhibit_rules": [{
            "source_matchers": ['severity="critical"'],
            "target_matchers": ['severity="warning"'],
            "equal": ["module"],
        }],
        "receivers": [receiver(name, notifiers, alerting.send_resolved) for name, notifiers in
                      ((DEFAULT, alerting.default), (PAGE, alerting.page), (TICKET, alerting.ticket))],
    }


def required_version(alerting: Alerting) -> tuple[int, int]:
    """Return the oldest Alertmanager (major, minor) that reads the config written for `alerting`."""
    notifiers = (*alerting.page, *alerting.ticket, *alerting.default)
    if any(isinstance(n, Webhook) and n.url_file is not None for n in notifiers):
        return URL_FILE_VERSION
    return BASELINE_VERSION


def alertmanager_files(alerting: Alerting) -> dict[str, bytes]:
    """Return the Alertmanager config by repository-relative path."""
    return {CONFIG_FILE: dump_yaml(alertmanager_config(alerting))}
