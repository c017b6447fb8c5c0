"""Datadog's official API client (datadog-api-client, ServiceLevelObjectivesApi) against
agent-lite, unchanged: creates a metric SLO, lists it, reads it and its history, and prints
what it got as one JSON object for the Rust test to check.

Usage: official_client.py <agent-lite API url> <from_ts> <to_ts>
"""

import json
import sys

from datadog_api_client import ApiClient, Configuration
from datadog_api_client.v1.api.service_level_objectives_api import ServiceLevelObjectivesApi
from datadog_api_client.v1.model.service_level_objective_query import ServiceLevelObjectiveQuery
from datadog_api_client.v1.model.service_level_objective_request import ServiceLevelObjectiveRequest
from datadog_api_client.v1.model.slo_threshold import SLOThreshold
from datadog_api_client.v1.model.slo_timeframe import SLOTimeframe
from datadog_api_client.v1.model.slo_type import SLOType

url, from_ts, to_ts = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
config = Configuration(host=url)
config.api_key["apiKeyAuth"] = "lab"
config.api_key["appKeyAuth"] = "lab"

body = ServiceLevelObjectiveRequest(
    name="shop availability (official client)",
    type=SLOType.METRIC,
    description="requests that did not fail",
    tags=["team:lab", "env:test"],
    thresholds=[SLOThreshold(target=99.0, warning=99.5, timeframe=SLOTimeframe.SEVEN_DAYS)],
    query=ServiceLevelObjectiveQuery(
        numerator="sum:slo.requests{service:shop}.as_count() - sum:slo.errors{service:shop}.as_count()",
        denominator="sum:slo.requests{service:shop}.as_count()",
    ),
)

with ApiClient(config) as client:
    api = ServiceLevelObjectivesApi(client)
    created = api.create_slo(body=body)
    slo_id = created.data[0].id
    listed = api.list_slos(tags_query="team:lab")
    got = api.get_slo(slo_id=slo_id)
    history = api.get_slo_history(slo_id=slo_id, from_ts=from_ts, to_ts=to_ts)
    overall = history.data.overall
    print(json.dumps({
        "id": slo_id,
        "listed": [s.id for s in listed.data],
        "name": got.data.name,
        "type": str(got.data.type),
        "target": got.data.thresholds[0].target,
        "sli_value": overall.sli_value,
        "error_budget_remaining": overall.error_budget_remaining.to_dict(),
        "numerator_sum": history.data.series.numerator.sum,
        "denominator_sum": history.data.series.denominator.sum,
        "times": len(history.data.series.times),
    }))
