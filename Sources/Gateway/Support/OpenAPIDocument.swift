import BatonCore
/// The OpenAPI 3.1 description of this API, served at `/openapi.json`. Hand-written so it reads
/// as documentation; `OpenAPICoverageTests` fails when a route is registered but not described
/// here, or described but not registered.
enum OpenAPIDocument {
    static let json = #"""
{
  "openapi": "3.1.0",
  "info": {
    "title": "Baton Gateway API",
    "version": "1.0.0",
    "description": "Jobs, tickets and cluster state of a Baton scheduler. JSON, camelCase, times in RFC 3339 UTC. Errors are RFC 9457 application/problem+json. Unsafe methods (POST, PUT, PATCH, DELETE) must send Content-Type: application/json, with a body or without (415), and must not come from another origin per Sec-Fetch-Site or Origin (403 cross-site). The read-only token (BATON_API_READ_TOKEN) is accepted for GET and HEAD only (403 read-only otherwise)."
  },
  "security": [{"bearer": []}],
  "paths": {
    "/healthz": {
      "get": {"summary": "Liveness", "security": [], "responses": {"200": {"description": "Alive", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Status"}}}}}}
    },
    "/readyz": {
      "get": {"summary": "Readiness: database reachable and schema current", "security": [], "responses": {
        "200": {"description": "Ready", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Status"}}}},
        "503": {"$ref": "#/components/responses/Unavailable"}}}
    },
    "/metrics": {
      "get": {"summary": "Prometheus metrics", "responses": {"200": {"description": "Prometheus text format", "content": {"text/plain": {"schema": {"type": "string"}}}}, "401": {"$ref": "#/components/responses/Problem"}}}
    },
    "/openapi.json": {
      "get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {"schema": {"type": "object"}}}}, "401": {"$ref": "#/components/responses/Problem"}}}
    },
    "/v1/jobs": {
      "get": {
        "summary": "List jobs by name",
        "parameters": [
          {"$ref": "#/components/parameters/limit"}, {"$ref": "#/components/parameters/cursor"},
          {"name": "label", "in": "query", "schema": {"type": "string"}, "description": "key:value"},
          {"name": "paused", "in": "query", "schema": {"type": "boolean"}}
        ],
        "responses": {"200": {"description": "A page of jobs", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/JobList"}}}}, "422": {"$ref": "#/components/responses/Problem"}}
      },
      "post": {
        "summary": "Create a job",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/JobSpec"}}}},
        "responses": {
          "201": {"description": "Created", "headers": {"ETag": {"$ref": "#/components/headers/ETag"}, "Location": {"schema": {"type": "string"}}}, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Job"}}}},
          "400": {"$ref": "#/components/responses/Problem"}, "409": {"$ref": "#/components/responses/Problem"},
          "413": {"$ref": "#/components/responses/Problem"}, "415": {"$ref": "#/components/responses/Problem"},
          "422": {"$ref": "#/components/responses/Problem"}, "503": {"$ref": "#/components/responses/Unavailable"}
        }
      }
    },
    "/v1/jobs/{name}": {
      "parameters": [{"$ref": "#/components/parameters/name"}],
      "get": {"summary": "Read a job", "responses": {"200": {"$ref": "#/components/responses/Job"}, "404": {"$ref": "#/components/responses/Problem"}}},
      "put": {
        "summary": "Create or replace a job",
        "description": "A value of *** for a secret header or env var keeps the stored value.",
        "parameters": [{"$ref": "#/components/parameters/ifMatch"}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/JobSpec"}}}},
        "responses": {"200": {"$ref": "#/components/responses/Job"}, "201": {"$ref": "#/components/responses/Job"}, "412": {"$ref": "#/components/responses/Problem"}, "422": {"$ref": "#/components/responses/Problem"}}
      },
      "patch": {
        "summary": "Modify a job with a JSON merge patch (RFC 7396)",
        "parameters": [{"$ref": "#/components/parameters/ifMatch"}],
        "requestBody": {"required": true, "content": {"application/merge-patch+json": {"schema": {"type": "object"}}, "application/json": {"schema": {"type": "object"}}}},
        "responses": {"200": {"$ref": "#/components/responses/Job"}, "404": {"$ref": "#/components/responses/Problem"}, "409": {"$ref": "#/components/responses/Problem"}, "412": {"$ref": "#/components/responses/Problem"}, "422": {"$ref": "#/components/responses/Problem"}}
      },
      "delete": {
        "summary": "Delete a job (cancels pending tickets, keeps history)",
        "parameters": [{"$ref": "#/components/parameters/ifMatch"}],
        "responses": {"204": {"description": "Deleted"}, "404": {"$ref": "#/components/responses/Problem"}, "412": {"$ref": "#/components/responses/Problem"}}
      }
    },
    "/v1/jobs/{name}/pause": {
      "parameters": [{"$ref": "#/components/parameters/name"}],
      "post": {"summary": "Pause a job", "parameters": [{"$ref": "#/components/parameters/ifMatch"}], "responses": {"200": {"$ref": "#/components/responses/Job"}, "404": {"$ref": "#/components/responses/Problem"}, "409": {"$ref": "#/components/responses/Problem"}}}
    },
    "/v1/jobs/{name}/resume": {
      "parameters": [{"$ref": "#/components/parameters/name"}],
      "post": {"summary": "Resume a job; paused slots are not caught up", "parameters": [{"$ref": "#/components/parameters/ifMatch"}], "responses": {"200": {"$ref": "#/components/responses/Job"}, "404": {"$ref": "#/components/responses/Problem"}, "409": {"$ref": "#/components/responses/Problem"}}}
    },
    "/v1/jobs/{name}/trigger": {
      "parameters": [{"$ref": "#/components/parameters/name"}],
      "post": {
        "summary": "Run a job now (a manual ticket)",
        "parameters": [{"name": "Idempotency-Key", "in": "header", "schema": {"type": "string", "maxLength": 255}}],
        "responses": {
          "202": {"description": "New ticket", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Ticket"}}}},
          "200": {"description": "The ticket an earlier request with this Idempotency-Key created", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Ticket"}}}},
          "404": {"$ref": "#/components/responses/Problem"}, "409": {"$ref": "#/components/responses/Problem"}
        }
      }
    },
    "/v1/jobs/{name}/schedule": {
      "parameters": [{"$ref": "#/components/parameters/name"}],
      "get": {
        "summary": "Next fire instants, UTC and local",
        "parameters": [{"$ref": "#/components/parameters/count"}, {"$ref": "#/components/parameters/from"}],
        "responses": {"200": {"description": "Preview", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SchedulePreview"}}}}, "404": {"$ref": "#/components/responses/Problem"}, "409": {"$ref": "#/components/responses/Problem"}, "422": {"$ref": "#/components/responses/Problem"}}
      }
    },
    "/v1/jobs/{name}/explain": {
      "parameters": [{"$ref": "#/components/parameters/name"}],
      "get": {
        "summary": "Why the slot at or before TIME ran, was skipped, or has no ticket",
        "parameters": [{"name": "at", "in": "query", "schema": {"type": "string", "format": "date-time"}, "description": "default: now"}],
        "responses": {"200": {"description": "Explanation", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Explanation"}}}}, "404": {"$ref": "#/components/responses/Problem"}, "409": {"$ref": "#/components/responses/Problem"}, "422": {"$ref": "#/components/responses/Problem"}}
      }
    },
    "/v1/tickets": {
      "get": {
        "summary": "Ticket history, newest first",
        "parameters": [
          {"name": "job", "in": "query", "schema": {"type": "string"}},
          {"name": "state", "in": "query", "schema": {"$ref": "#/components/schemas/TicketState"}},
          {"name": "since", "in": "query", "schema": {"type": "string", "format": "date-time"}, "description": "slot >= since"},
          {"name": "until", "in": "query", "schema": {"type": "string", "format": "date-time"}, "description": "slot < until"},
          {"$ref": "#/components/parameters/limit"}, {"$ref": "#/components/parameters/cursor"}
        ],
        "responses": {"200": {"description": "A page of tickets", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TicketList"}}}}, "422": {"$ref": "#/components/responses/Problem"}}
      }
    },
    "/v1/tickets/{id}": {
      "parameters": [{"$ref": "#/components/parameters/ticketId"}],
      "get": {"summary": "One ticket with its attempts", "responses": {"200": {"description": "Ticket", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Ticket"}}}}, "404": {"$ref": "#/components/responses/Problem"}}}
    },
    "/v1/tickets/{id}/cancel": {
      "parameters": [{"$ref": "#/components/parameters/ticketId"}],
      "post": {"summary": "Cancel a pending or retrying ticket, or ask a running one to stop", "responses": {"200": {"description": "Ticket", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Ticket"}}}}, "404": {"$ref": "#/components/responses/Problem"}, "409": {"$ref": "#/components/responses/Problem"}}}
    },
    "/v1/executors": {
      "get": {
        "summary": "Executors seen in the last 30 s, by id",
        "parameters": [{"$ref": "#/components/parameters/limit"}, {"$ref": "#/components/parameters/cursor"}],
        "responses": {"200": {"description": "A page of executors", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ExecutorList"}}}}, "422": {"$ref": "#/components/responses/Problem"}}
      }
    },
    "/v1/scheduler": {
      "get": {"summary": "Leader, standbys and tick lag", "responses": {"200": {"description": "Scheduler view", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SchedulerView"}}}}}}
    },
    "/v1/cron": {
      "get": {
        "summary": "Validate a cron expression and preview its fires",
        "parameters": [
          {"name": "expr", "in": "query", "required": true, "schema": {"type": "string"}},
          {"name": "tz", "in": "query", "schema": {"type": "string", "default": "UTC"}},
          {"name": "dstGap", "in": "query", "schema": {"enum": ["shift", "skip"]}},
          {"name": "dstFold", "in": "query", "schema": {"enum": ["auto", "first", "last", "both"]}},
          {"$ref": "#/components/parameters/count"}, {"$ref": "#/components/parameters/from"}
        ],
        "responses": {"200": {"description": "Preview", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CronPreview"}}}}, "422": {"$ref": "#/components/responses/Problem"}}
      }
    }
  },
  "components": {
    "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "BATON_API_TOKEN"}},
    "headers": {"ETag": {"description": "The job's revision, quoted", "schema": {"type": "string"}}},
    "parameters": {
      "name": {"name": "name", "in": "path", "required": true, "schema": {"type": "string", "pattern": "^[a-z0-9][a-z0-9._-]{0,62}$"}},
      "ticketId": {"name": "id", "in": "path", "required": true, "schema": {"type": "string", "pattern": "^[0-9a-f]{64}$"}},
      "limit": {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}},
      "cursor": {"name": "cursor", "in": "query", "schema": {"type": "string"}},
      "count": {"name": "count", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 10}},
      "from": {"name": "from", "in": "query", "schema": {"type": "string", "format": "date-time"}, "description": "default: now; fires strictly after it"},
      "ifMatch": {"name": "If-Match", "in": "header", "schema": {"type": "string"}, "description": "An ETag (revision) the job must still have"}
    },
    "responses": {
      "Job": {"description": "A job", "headers": {"ETag": {"$ref": "#/components/headers/ETag"}}, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Job"}}}},
      "Problem": {"description": "RFC 9457 problem", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}},
      "Unavailable": {"description": "Storage failure; retry after Retry-After seconds", "headers": {"Retry-After": {"schema": {"type": "integer"}}}, "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    },
    "schemas": {
      "Status": {"type": "object", "properties": {"status": {"type": "string"}}},
      "Problem": {
        "type": "object", "required": ["type", "title", "status", "detail"],
        "properties": {
          "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"}, "detail": {"type": "string"},
          "instance": {"type": "string"}, "requestId": {"type": "string"},
          "errors": {"type": "array", "items": {"type": "object", "properties": {"field": {"type": "string"}, "message": {"type": "string"}}}}
        }
      },
      "JobSpec": {"allOf": [{"$ref": "#/components/schemas/JobSpecFields"}], "required": ["name", "schedule", "action"]},
      "JobSpecFields": {
        "type": "object",
        "properties": {
          "name": {"type": "string", "pattern": "^[a-z0-9][a-z0-9._-]{0,62}$"},
          "schedule": {"type": "object", "properties": {
            "cron": {"type": "string"}, "every": {"type": "string", "description": "duration (e.g. 90s, 5m, 2h, 1d): \#(TimeBounds.every.boundDescription)"}, "at": {"type": "string", "format": "date-time"},
            "timezone": {"type": "string"}, "dst": {"type": "object", "properties": {"gap": {"enum": ["shift", "skip"]}, "fold": {"enum": ["auto", "first", "last", "both"]}}},
            "anchor": {"type": "string", "format": "date-time"}, "startAt": {"type": "string", "format": "date-time"}, "endAt": {"type": "string", "format": "date-time"}}},
          "action": {"type": "object", "properties": {
            "http": {"type": "object", "properties": {"method": {"type": "string"}, "url": {"type": "string"}, "headers": {"type": "object", "additionalProperties": {"type": "string"}}, "body": {"type": "string"}, "timeout": {"type": "string", "description": "duration (e.g. 90s, 5m, 2h, 1d): \#(TimeBounds.timeout.boundDescription)"}}},
            "command": {"type": "object", "properties": {"argv": {"type": "array", "items": {"type": "string"}}, "env": {"type": "object", "additionalProperties": {"type": "string"}}, "cwd": {"type": "string"}, "timeout": {"type": "string", "description": "duration (e.g. 90s, 5m, 2h, 1d): \#(TimeBounds.timeout.boundDescription)"}}},
            "noop": {"type": "object"}}},
          "policy": {"type": "object", "properties": {
            "overlap": {"enum": ["allow", "forbid", "replace"]}, "catchup": {"enum": ["all", "latest", "none"]},
            "misfireGrace": {"type": "string", "description": "duration (e.g. 90s, 5m, 2h, 1d): \#(TimeBounds.misfireGrace.boundDescription)"}, "timeout": {"type": "string", "description": "duration (e.g. 90s, 5m, 2h, 1d): \#(TimeBounds.timeout.boundDescription)"}, "jitter": {"type": "string", "description": "duration (e.g. 90s, 5m, 2h, 1d): \#(TimeBounds.jitter.boundDescription)"},
            "retry": {"type": "object", "properties": {"maxAttempts": {"type": "integer", "minimum": \#(TimeBounds.maxAttempts.lowerBound), "maximum": \#(TimeBounds.maxAttempts.upperBound)}, "initialDelay": {"type": "string", "description": "duration (e.g. 90s, 5m, 2h, 1d): \#(TimeBounds.retryDelay.boundDescription)"}, "maxDelay": {"type": "string", "description": "duration (e.g. 90s, 5m, 2h, 1d): \#(TimeBounds.retryDelay.boundDescription)"}, "multiplier": {"type": "number", "minimum": \#(TimeBounds.multiplier.lowerBound), "maximum": \#(TimeBounds.multiplier.upperBound)}}}}},
          "paused": {"type": "boolean"},
          "labels": {"type": "object", "additionalProperties": {"type": "string"}},
          "queue": {"type": "string"}
        }
      },
      "Job": {
        "description": "The spec plus the server's fields. A parked job (state parked) has parkedReason; when its stored spec cannot be read by this gateway, only name stands in for the spec.",
        "allOf": [{"$ref": "#/components/schemas/JobSpecFields"}, {"type": "object", "required": ["name", "id", "revision", "state"], "properties": {
          "id": {"type": "string"}, "revision": {"type": "integer"}, "state": {"enum": ["active", "paused", "completed", "parked"]},
          "parkedReason": {"type": "string", "description": "Only on parked jobs: why the scheduler cannot plan this revision. A PUT (or PATCH) with a valid spec leaves parked."},
          "createdAt": {"type": "string", "format": "date-time"}, "updatedAt": {"type": "string", "format": "date-time"},
          "nextFireAt": {"type": ["string", "null"], "format": "date-time"}, "lastTicket": {"type": ["string", "null"]},
          "lastSuccessAt": {"type": ["string", "null"], "format": "date-time"}, "lastFailureAt": {"type": ["string", "null"], "format": "date-time"}}}]
      },
      "JobList": {"type": "object", "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Job"}}, "nextCursor": {"type": ["string", "null"]}}},
      "TicketState": {"enum": ["pending", "running", "retrying", "succeeded", "failed", "cancelled", "skipped"]},
      "Attempt": {"type": "object", "properties": {
        "number": {"type": "integer"}, "executor": {"type": "string"}, "startedAt": {"type": "string", "format": "date-time"},
        "finishedAt": {"type": ["string", "null"], "format": "date-time"}, "outcome": {"type": ["string", "null"]},
        "status": {"type": ["integer", "null"]}, "output": {"type": ["string", "null"]}}},
      "Ticket": {"type": "object", "properties": {
        "id": {"type": "string"}, "job": {"type": "string"}, "jobId": {"type": "string"}, "revision": {"type": "integer"},
        "slot": {"type": "string", "format": "date-time"}, "state": {"$ref": "#/components/schemas/TicketState"},
        "reason": {"type": ["string", "null"]}, "detail": {"type": ["string", "null"]}, "epoch": {"type": ["integer", "null"]},
        "attempt": {"type": "integer"}, "maxAttempts": {"type": "integer"}, "notBefore": {"type": "string", "format": "date-time"},
        "createdAt": {"type": "string", "format": "date-time"}, "startedAt": {"type": ["string", "null"], "format": "date-time"},
        "finishedAt": {"type": ["string", "null"], "format": "date-time"}, "executor": {"type": ["string", "null"]},
        "manual": {"type": "boolean"}, "attempts": {"type": "array", "items": {"$ref": "#/components/schemas/Attempt"}}}},
      "TicketList": {"type": "object", "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Ticket"}}, "nextCursor": {"type": ["string", "null"]}}},
      "Fire": {"type": "object", "properties": {"utc": {"type": "string", "format": "date-time"}, "local": {"type": "string", "format": "date-time"}}},
      "SchedulePreview": {"type": "object", "properties": {"job": {"type": "string"}, "timezone": {"type": "string"}, "paused": {"type": "boolean"}, "fires": {"type": "array", "items": {"$ref": "#/components/schemas/Fire"}}}},
      "CronPreview": {"type": "object", "properties": {"expression": {"type": "string"}, "timezone": {"type": "string"}, "fires": {"type": "array", "items": {"$ref": "#/components/schemas/Fire"}}}},
      "Explanation": {"type": "object", "properties": {
        "job": {"type": "string"}, "at": {"type": "string", "format": "date-time"}, "slot": {"type": ["string", "null"], "format": "date-time"},
        "verdict": {"enum": ["ticketed", "skipped", "before_creation", "no_slot", "not_yet_due", "paused", "awaiting_scheduler", "no_ticket"]},
        "reason": {"type": ["string", "null"]}, "detail": {"type": "string"},
        "ticket": {"oneOf": [{"$ref": "#/components/schemas/Ticket"}, {"type": "null"}]}}},
      "ExecutorList": {"type": "object", "properties": {"items": {"type": "array", "items": {"type": "object", "properties": {
        "id": {"type": "string"}, "host": {"type": "string"}, "pid": {"type": "integer"}, "capacity": {"type": "integer"},
        "inFlight": {"type": "integer"}, "queues": {"type": "array", "items": {"type": "string"}}, "version": {"type": "string"},
        "startedAt": {"type": "string", "format": "date-time"}, "lastSeen": {"type": "string", "format": "date-time"}}}},
        "nextCursor": {"type": ["string", "null"]}}},
      "SchedulerView": {"type": "object", "properties": {
        "leader": {"oneOf": [{"type": "null"}, {"type": "object", "properties": {"id": {"type": "string"}, "host": {"type": "string"}, "pid": {"type": "integer"}, "endpoint": {"type": "string"}, "epoch": {"type": "integer"}, "leaseExpiresAt": {"type": "string", "format": "date-time"}}}]},
        "standbys": {"type": "array", "items": {"type": "object", "properties": {"id": {"type": "string"}, "host": {"type": "string"}, "pid": {"type": "integer"}, "endpoint": {"type": "string"}, "lastSeen": {"type": "string", "format": "date-time"}}}},
        "tickLagMs": {"type": ["integer", "null"]}}}
    }
  }
}
"""#
}
