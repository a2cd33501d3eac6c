"""Names vulture reports as unused that are used where it cannot see: by a framework (Flask,
SQLAlchemy, Alembic, pydantic, click, pytest), in templates, or by name (jobs enqueued as
``"pkg.mod:func"``, entry points). Listed with ``_.name``; this file is never run.

Hook implementations, hookspecs, Flask views, error handlers, click commands and event
listeners are recognised by their decorators (``[tool.vulture]`` in pyproject.toml) and
need no line here."""

_ = None

# pydantic: class-level configuration
_.model_config

# SQLAlchemy: TypeDecorator protocol, event-listener arguments, hybrid expressions
_.cache_ok
_.inherit_cache
_.process_bind_param
_.process_result_value
_.flush_context
_.connection_record
_._name_expression

# Alembic: callback arguments of include_object / compare_type
_.compare_to
_.reflected
_.autogen_context
_.inspected
_.inspected_type
_.metadata_col

# Flask / Flask-Login: configuration attributes and the session-interface protocol
_.session_interface
_.login_view
_.login_message
_.localize_callback
_.session_protection
_.open_session
_.should_set_cookie
_.tandem_registry  # g.tandem_registry, read by request state

# click: FlaskGroup override
_._load_plugin_commands

# http.server: request-log override (scripts/screenshot.py)
_.log_request

# pytest: module-level markers
_.pytestmark

# Entry points and jobs reached by name
_.rq_entry  # "core.worker.rq_entry", enqueued by core.jobs
_.application_factory  # "core.wsgi:application_factory()", for WSGI servers (README)
_.answer_later  # JobSpec "modules.wecom.inbound:answer_later"
_.attach_picture  # JobSpec "modules.service_wecom.services:attach_picture"
_.tell_picture_failed  # JobSpec "modules.service_wecom.services:tell_picture_failed"
_.purge_waiting_pictures  # JobSpec "modules.service_wecom.services:purge_waiting_pictures"
_.make_widget  # fixture JobSpec "demo_a.hooks:make_widget"
_.fail_always  # fixture JobSpec "demo_a.hooks:fail_always"
_.record_context  # job path "tests.core.jobs.test_jobs:record_context"
_.explode  # job path "tests.core.web.test_failed_jobs:explode"
_.slow_widget  # job path "tests.core.jobs.test_worker_shutdown:slow_widget"

# Columns and fields written by keyword or read in templates and SQL
_.updated_at
_.claimed_at  # wecom_webhook_delivery: when a group push was claimed (for the record)
_.installed_at
_.rq_job_id
_.sent_at
_.record_model
_.author_id
_.msg_id
_.license
_.change_type
_.note
_.msgtype
_.remark_mobiles
_.transfer_updated_at
_.transfer_label
_.icon
_.hint
_.kpis
_.more_url
_.empty_text
_.customer_sections
_.workspace_cards
_.searchers

# ------------------------------------------------------------------------ crm and pool
_.expected_close_date
_.completed_at
_.initiator
_.is_enterprise
_.channel_label
_.stage_label
_.reason_label
_.stage_from
_.stage_to
_.created_by
_.recycle_daily  # JobSpec "modules.pool.jobs:recycle_daily"
_.tag_list  # CustomerOut.tags reads it (validation_alias="tag_list")
_.remark  # fields read by the API's response models and the forms' service_data()
_.wechat
_.next_follow_up_date

# ------------------------------------------------------------------- import contracts
_.ManifestDependenciesContract  # .importlinter: contract_types
_.render_broken_contract  # import-linter calls it
_.verbose  # ManifestDependenciesContract.check(graph, verbose)

# Issue 14: werkzeug's URL-converter protocol (core.web.input_guard.IdConverter), Flask's
# session-interface hook, and the fields of the robot payload model that only validate shape
_.weight
_.part_isolating
_.to_python
_.to_url
_.get_cookie_secure
_.msg_item
_.template_card_event
_.chattype
_.voice
_.mixed

# sales, equipment: columns and fields read by templates, API answers and the audit log;
# jobs named in strings; a test's signer override
_.paid_at
_.cancelled_at
_.project_manager
_.status_date
_.parts_replaced
_.ticket_id
_.preventive_scan
_.get_timestamp

# service: API answer and form fields read by pydantic/WTForms, columns shown by templates
# and written for the record, jobs named in strings
_.assignee_name
_.equipment_serial
_.refresh_sla
_.dispatch_timeouts
_.rating_comment
_.rated_at
_.sla_label
_.added_at
_.check_in_lat
_.check_in_lng
_.check_out_lat
_.check_out_lng

# stock: columns written for the record and read by templates, API answers and the audit log;
# labels and lists read by templates; a hookspec's parameter
_.substitute_ids
_.equipment_ids
_.model_list
_.lead_days
_.kind_label
_.purchase_order_id
_.transfer_key
_.decided_at
_.issued_at
_.decided_by
_.requested_by_id
_.counted_by_id
_.counted_at
_.count_id

# gunicorn.conf.py names it in a string (wsgi_app)
_.production_app

# the changes feed: response fields of the API (pydantic); the test's loopback HTTP server
_.next_cursor
_.has_more
_.do_POST
_.log_message
# imports (issue 19): the log's end time (shown on the run page); openpyxl cell and sheet styling
_.finished_at
_.font
_.freeze_panes
_.previous_text  # Figure, shown by core/overview.html
_.higher_is_better  # Figure, shown by core/overview.html
# service photos: read by templates
_.phase_label
# RQ: a worker attribute RQ reads (core.worker)
_.max_connection_wait_time

# locust: a user's start hook and its @task methods (bench/load/locustfile.py)
_.on_start
_.opportunity_list
_.customer_detail
_.opportunity_detail
_.api_list
_.api_detail
_.robot_callback
_.Staff
_.wait_time
_._figures  # locust event listeners
_._write

# requests: a session attribute requests reads (core.changes.webhooks: no proxy from the env)
_.trust_env
