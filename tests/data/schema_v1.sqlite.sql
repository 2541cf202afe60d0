-- ilog schema version 1 (the first released schema), sqlite: frozen, never edit.
-- Generated from ilog 0.1.0's models.metadata with create_mock_engine; tests/test_migrations.py
-- builds a version-1 database from it and upgrades it.
CREATE TABLE ilog_meta (
	"key" VARCHAR(50) NOT NULL, 
	value TEXT NOT NULL, 
	CONSTRAINT pk_ilog_meta PRIMARY KEY ("key")
);

CREATE TABLE number_series (
	code VARCHAR(30) NOT NULL, 
	prefix VARCHAR(20) DEFAULT '' NOT NULL, 
	width INTEGER DEFAULT '0' NOT NULL, 
	last_no BIGINT DEFAULT '0' NOT NULL, 
	CONSTRAINT pk_number_series PRIMARY KEY (code)
);

CREATE TABLE contact (
	no VARCHAR(30) NOT NULL, 
	type VARCHAR(10) NOT NULL, 
	name VARCHAR(250) NOT NULL, 
	company_no VARCHAR(30), 
	email VARCHAR(250), 
	phone VARCHAR(50), 
	mobile_phone VARCHAR(50), 
	salesperson_code VARCHAR(30), 
	external_id VARCHAR(100), 
	address VARCHAR(250), 
	address_2 VARCHAR(250), 
	post_code VARCHAR(20), 
	city VARCHAR(100), 
	country VARCHAR(50), 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	CONSTRAINT pk_contact PRIMARY KEY (no), 
	CONSTRAINT fk_contact_company_no_contact FOREIGN KEY(company_no) REFERENCES contact (no)
);

CREATE INDEX ix_contact_company_no ON contact (company_no);

CREATE INDEX ix_contact_email ON contact (email);

CREATE UNIQUE INDEX ix_contact_external_id ON contact (external_id);

CREATE TABLE interaction_group (
	code VARCHAR(30) NOT NULL, 
	description VARCHAR(250), 
	CONSTRAINT pk_interaction_group PRIMARY KEY (code)
);

CREATE TABLE attachment (
	id INTEGER NOT NULL, 
	sha256 VARCHAR(64) NOT NULL, 
	name VARCHAR(250) NOT NULL, 
	media_type VARCHAR(100) NOT NULL, 
	size BIGINT NOT NULL, 
	content BLOB NOT NULL, 
	created_at DATETIME NOT NULL, 
	CONSTRAINT pk_attachment PRIMARY KEY (id), 
	CONSTRAINT uq_attachment_sha256 UNIQUE (sha256)
);

CREATE TABLE idempotency_key (
	"key" VARCHAR(200) NOT NULL, 
	entry_no INTEGER NOT NULL, 
	created_at DATETIME NOT NULL, 
	CONSTRAINT pk_idempotency_key PRIMARY KEY ("key")
);

CREATE TABLE document_occurrence (
	document_type VARCHAR(40) NOT NULL, 
	document_no VARCHAR(50) NOT NULL, 
	last_occurrence INTEGER NOT NULL, 
	CONSTRAINT pk_document_occurrence PRIMARY KEY (document_type, document_no)
);

CREATE TABLE logged_segment (
	no VARCHAR(30) NOT NULL, 
	segment_no VARCHAR(30) NOT NULL, 
	description VARCHAR(250), 
	entry_count INTEGER NOT NULL, 
	first_entry_no INTEGER, 
	last_entry_no INTEGER, 
	logged_at DATETIME NOT NULL, 
	logged_by VARCHAR(100), 
	cancelled BOOLEAN DEFAULT false NOT NULL, 
	CONSTRAINT pk_logged_segment PRIMARY KEY (no)
);

CREATE TABLE interaction_template (
	code VARCHAR(30) NOT NULL, 
	description VARCHAR(250), 
	group_code VARCHAR(30), 
	kind VARCHAR(20) NOT NULL, 
	flow VARCHAR(10) NOT NULL, 
	initiated_by VARCHAR(10) NOT NULL, 
	unit_cost FLOAT DEFAULT '0' NOT NULL, 
	unit_duration_min FLOAT DEFAULT '0' NOT NULL, 
	attempt_failed BOOLEAN DEFAULT false NOT NULL, 
	correspondence VARCHAR(10) NOT NULL, 
	campaign_no VARCHAR(30), 
	attachment_id INTEGER, 
	created_at DATETIME NOT NULL, 
	CONSTRAINT pk_interaction_template PRIMARY KEY (code), 
	CONSTRAINT fk_interaction_template_group_code_interaction_group FOREIGN KEY(group_code) REFERENCES interaction_group (code), 
	CONSTRAINT fk_interaction_template_attachment_id_attachment FOREIGN KEY(attachment_id) REFERENCES attachment (id)
);

CREATE TABLE template_setup (
	event VARCHAR(60) NOT NULL, 
	template_code VARCHAR(30) NOT NULL, 
	CONSTRAINT pk_template_setup PRIMARY KEY (event), 
	CONSTRAINT fk_template_setup_template_code_interaction_template FOREIGN KEY(template_code) REFERENCES interaction_template (code)
);

CREATE TABLE interaction (
	entry_no INTEGER NOT NULL, 
	contact_no VARCHAR(30), 
	company_no VARCHAR(30), 
	occurred_at DATETIME NOT NULL, 
	subject VARCHAR(1000), 
	template_code VARCHAR(30), 
	group_code VARCHAR(30), 
	kind VARCHAR(20) NOT NULL, 
	flow VARCHAR(10) NOT NULL, 
	initiated_by VARCHAR(10) NOT NULL, 
	attempt_failed BOOLEAN NOT NULL, 
	cost FLOAT NOT NULL, 
	duration_min FLOAT NOT NULL, 
	user_id VARCHAR(100), 
	salesperson_code VARCHAR(30), 
	evaluation VARCHAR(15) NOT NULL, 
	cancelled BOOLEAN NOT NULL, 
	cancelled_at DATETIME, 
	postponed BOOLEAN NOT NULL, 
	state VARCHAR(5) NOT NULL, 
	due_at DATETIME, 
	completed_at DATETIME, 
	document_type VARCHAR(40), 
	document_no VARCHAR(50), 
	version_no INTEGER, 
	occurrence INTEGER, 
	segment_no VARCHAR(30), 
	logged_segment_no VARCHAR(30), 
	campaign_no VARCHAR(30), 
	correspondence VARCHAR(10) NOT NULL, 
	attachment_id INTEGER, 
	source VARCHAR(10) NOT NULL, 
	idempotency_key VARCHAR(200), 
	created_at DATETIME NOT NULL, 
	CONSTRAINT pk_interaction PRIMARY KEY (entry_no), 
	CONSTRAINT fk_interaction_contact_no_contact FOREIGN KEY(contact_no) REFERENCES contact (no), 
	CONSTRAINT fk_interaction_company_no_contact FOREIGN KEY(company_no) REFERENCES contact (no), 
	CONSTRAINT fk_interaction_template_code_interaction_template FOREIGN KEY(template_code) REFERENCES interaction_template (code), 
	CONSTRAINT fk_interaction_attachment_id_attachment FOREIGN KEY(attachment_id) REFERENCES attachment (id)
);

CREATE INDEX ix_interaction_template_code ON interaction (template_code);

CREATE UNIQUE INDEX ix_interaction_document ON interaction (document_type, document_no, occurrence) WHERE document_no IS NOT NULL;

CREATE INDEX ix_interaction_contact_no_occurred_at ON interaction (contact_no, occurred_at);

CREATE INDEX ix_interaction_logged_segment_no ON interaction (logged_segment_no);

CREATE INDEX ix_interaction_company_no_occurred_at ON interaction (company_no, occurred_at);

CREATE INDEX ix_interaction_attachment_id ON interaction (attachment_id);

CREATE INDEX ix_interaction_occurred_at ON interaction (occurred_at);

CREATE INDEX ix_interaction_cancelled_occurred_at ON interaction (cancelled, occurred_at);

CREATE INDEX ix_interaction_state_due_at ON interaction (state, due_at);

CREATE TABLE segment (
	no VARCHAR(30) NOT NULL, 
	description VARCHAR(250) NOT NULL, 
	template_code VARCHAR(30), 
	date DATETIME, 
	salesperson_code VARCHAR(30), 
	campaign_no VARCHAR(30), 
	subject VARCHAR(1000), 
	state VARCHAR(10) DEFAULT 'open' NOT NULL, 
	created_at DATETIME NOT NULL, 
	created_by VARCHAR(100), 
	CONSTRAINT pk_segment PRIMARY KEY (no), 
	CONSTRAINT fk_segment_template_code_interaction_template FOREIGN KEY(template_code) REFERENCES interaction_template (code)
);

CREATE TABLE interaction_comment (
	entry_no INTEGER NOT NULL, 
	line_no INTEGER NOT NULL, 
	created_at DATETIME NOT NULL, 
	user_id VARCHAR(100), 
	text VARCHAR(4000) NOT NULL, 
	CONSTRAINT pk_interaction_comment PRIMARY KEY (entry_no, line_no), 
	CONSTRAINT fk_interaction_comment_entry_no_interaction FOREIGN KEY(entry_no) REFERENCES interaction (entry_no) ON DELETE CASCADE
);

CREATE TABLE segment_line (
	segment_no VARCHAR(30) NOT NULL, 
	line_no INTEGER NOT NULL, 
	contact_no VARCHAR(30) NOT NULL, 
	template_code VARCHAR(30), 
	description VARCHAR(1000), 
	CONSTRAINT pk_segment_line PRIMARY KEY (segment_no, line_no), 
	CONSTRAINT uq_segment_line_segment_no_contact_no UNIQUE (segment_no, contact_no), 
	CONSTRAINT fk_segment_line_segment_no_segment FOREIGN KEY(segment_no) REFERENCES segment (no) ON DELETE CASCADE, 
	CONSTRAINT fk_segment_line_contact_no_contact FOREIGN KEY(contact_no) REFERENCES contact (no), 
	CONSTRAINT fk_segment_line_template_code_interaction_template FOREIGN KEY(template_code) REFERENCES interaction_template (code)
);

INSERT INTO ilog_meta (key, value) VALUES ('schema_version', '1');
INSERT INTO number_series (code, prefix, width, last_no) VALUES ('entry', '', 0, 0);
INSERT INTO number_series (code, prefix, width, last_no) VALUES ('contact', 'CT', 6, 0);
INSERT INTO number_series (code, prefix, width, last_no) VALUES ('segment', 'SEG', 5, 0);
INSERT INTO number_series (code, prefix, width, last_no) VALUES ('logged-segment', 'LSEG', 5, 0);
