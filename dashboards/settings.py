"""Settings of this project: the titles people know the dashboards by, and where alerts go. Edit freely;
`python build.py` reads it.

Uids never derive from titles (the overview is `modules-overview`, a module's dashboard its kebab-case
name), so changing a title keeps every bookmarked `/d/<uid>` link working.

Alerts: critical ones go to `page`, warnings to `ticket`, anything else to `default` (written to
alertmanager/alertmanager.yml). Secrets never go here: Slack's webhook URL, an SMTP password or a bearer
token are files inside the Alertmanager container, from docker compose secrets (README.md: Alerts), e.g.
    page=(Webhook(url=DEFAULT_WEBHOOK_URL), Slack(api_url_file="/run/secrets/slack_api_url", channel="#oncall")),
    ticket=Email(to="team@example.com", sender="alertmanager@example.com", smarthost="smtp.example.com:587",
                 auth_username="alertmanager", auth_password_file="/run/secrets/smtp_password"),
"""

from panels.settings import DEFAULT_WEBHOOK_URL, Alerting, ProjectSettings, Webhook

SETTINGS = ProjectSettings(
    overview_title="Trainer Modules Overview",
    module_title="{title} Dashboard",  # {title}, {name} (prompt_manager) or {slug} (prompt-manager)
    alerting=Alerting(
        page=Webhook(url=DEFAULT_WEBHOOK_URL),
        ticket=Webhook(url=DEFAULT_WEBHOOK_URL),
        default=Webhook(url=DEFAULT_WEBHOOK_URL),
        group_wait="30s", group_interval="5m", repeat_interval="4h",
    ),
)
