CREATE TABLE "alert_deliveries" (
	"id" text PRIMARY KEY NOT NULL,
	"rule_id" text NOT NULL,
	"subject_kind" text NOT NULL,
	"subject_id" text NOT NULL,
	"user_id" text,
	"label" text NOT NULL,
	"window_start" timestamp with time zone NOT NULL,
	"threshold" text NOT NULL,
	"spend_micros" bigint NOT NULL,
	"max_budget_micros" bigint,
	"status" text NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone NOT NULL,
	"lease_until" timestamp with time zone,
	"claimed_by" text,
	"last_error" text,
	"created_at" timestamp with time zone NOT NULL,
	"delivered_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "alert_rules" (
	"id" text PRIMARY KEY NOT NULL,
	"scope" text NOT NULL,
	"scope_id" text,
	"thresholds" jsonb NOT NULL,
	"url" text NOT NULL,
	"format" text NOT NULL,
	"secret" text,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "concurrency_counters" (
	"scope" text NOT NULL,
	"subject" text NOT NULL,
	"held" integer DEFAULT 0 NOT NULL,
	"granted" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "concurrency_counters_scope_subject_pk" PRIMARY KEY("scope","subject")
);
--> statement-breakpoint
CREATE TABLE "concurrency_leases" (
	"id" text PRIMARY KEY NOT NULL,
	"scope" text NOT NULL,
	"subject" text NOT NULL,
	"slots" integer NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "end_users" (
	"id" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"end_user_id" text NOT NULL,
	"budget_id" text,
	"spend_micros" bigint DEFAULT 0 NOT NULL,
	"reserved_micros" bigint DEFAULT 0 NOT NULL,
	"budget_started_at" timestamp with time zone,
	"next_budget_reset_at" timestamp with time zone,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "rate_limit_rules" (
	"id" text PRIMARY KEY NOT NULL,
	"scope" text NOT NULL,
	"scope_id" text,
	"model" text,
	"rpm_limit" integer,
	"tpm_limit" integer,
	"max_concurrent" integer,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "teams" (
	"team_id" text PRIMARY KEY NOT NULL,
	"alias" text,
	"spend_micros" bigint DEFAULT 0 NOT NULL,
	"reserved_micros" bigint DEFAULT 0 NOT NULL,
	"budget_id" text,
	"budget_started_at" timestamp with time zone,
	"next_budget_reset_at" timestamp with time zone,
	"blocked" boolean DEFAULT false NOT NULL,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"rpm_limit" integer,
	"tpm_limit" integer,
	"max_concurrent" integer,
	"allowed_models" jsonb,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "budget_reservations" RENAME COLUMN "user_id" TO "subject_id";--> statement-breakpoint
DROP INDEX "ix_budget_reservations_user_id";--> statement-breakpoint
ALTER TABLE "api_keys" ADD COLUMN "budget_id" text;--> statement-breakpoint
ALTER TABLE "api_keys" ADD COLUMN "spend_micros" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "api_keys" ADD COLUMN "reserved_micros" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "api_keys" ADD COLUMN "budget_started_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "api_keys" ADD COLUMN "next_budget_reset_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "api_keys" ADD COLUMN "max_concurrent" integer;--> statement-breakpoint
ALTER TABLE "api_keys" ADD COLUMN "end_user_budget_id" text;--> statement-breakpoint
ALTER TABLE "budget_reservations" ADD COLUMN "subject_kind" text DEFAULT 'user' NOT NULL;--> statement-breakpoint
ALTER TABLE "budget_reset_logs" ADD COLUMN "subject_kind" text DEFAULT 'user' NOT NULL;--> statement-breakpoint
ALTER TABLE "budget_reset_logs" ADD COLUMN "subject_id" text;--> statement-breakpoint
ALTER TABLE "usage_logs" ADD COLUMN "team_id" text;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "team_id" text;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "max_concurrent" integer;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "end_user_budget_id" text;--> statement-breakpoint
ALTER TABLE "alert_deliveries" ADD CONSTRAINT "alert_deliveries_rule_id_alert_rules_id_fk" FOREIGN KEY ("rule_id") REFERENCES "public"."alert_rules"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "end_users" ADD CONSTRAINT "end_users_user_id_users_user_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("user_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "end_users" ADD CONSTRAINT "end_users_budget_id_budgets_budget_id_fk" FOREIGN KEY ("budget_id") REFERENCES "public"."budgets"("budget_id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "teams" ADD CONSTRAINT "teams_budget_id_budgets_budget_id_fk" FOREIGN KEY ("budget_id") REFERENCES "public"."budgets"("budget_id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "ux_alert_deliveries_once" ON "alert_deliveries" USING btree ("rule_id","subject_kind","subject_id","window_start","threshold");--> statement-breakpoint
CREATE INDEX "ix_alert_deliveries_due" ON "alert_deliveries" USING btree ("status","next_attempt_at");--> statement-breakpoint
CREATE INDEX "ix_concurrency_leases_subject" ON "concurrency_leases" USING btree ("scope","subject");--> statement-breakpoint
CREATE INDEX "ix_concurrency_leases_expires_at" ON "concurrency_leases" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "ix_end_users_user" ON "end_users" USING btree ("user_id","end_user_id");--> statement-breakpoint
CREATE INDEX "ix_end_users_next_reset" ON "end_users" USING btree ("next_budget_reset_at");--> statement-breakpoint
CREATE INDEX "ix_teams_next_reset" ON "teams" USING btree ("next_budget_reset_at");--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_budget_id_budgets_budget_id_fk" FOREIGN KEY ("budget_id") REFERENCES "public"."budgets"("budget_id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_end_user_budget_id_budgets_budget_id_fk" FOREIGN KEY ("end_user_budget_id") REFERENCES "public"."budgets"("budget_id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "users" ADD CONSTRAINT "users_team_id_teams_team_id_fk" FOREIGN KEY ("team_id") REFERENCES "public"."teams"("team_id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "users" ADD CONSTRAINT "users_end_user_budget_id_budgets_budget_id_fk" FOREIGN KEY ("end_user_budget_id") REFERENCES "public"."budgets"("budget_id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "ix_api_keys_next_reset" ON "api_keys" USING btree ("next_budget_reset_at");--> statement-breakpoint
CREATE INDEX "ix_budget_reservations_subject" ON "budget_reservations" USING btree ("subject_kind","subject_id");--> statement-breakpoint
CREATE INDEX "ix_usage_logs_team_ts" ON "usage_logs" USING btree ("team_id","timestamp") WHERE team_id IS NOT NULL;--> statement-breakpoint
CREATE INDEX "ix_users_team_id" ON "users" USING btree ("team_id");--> statement-breakpoint
-- Reset logs written before levels existed are user resets.
UPDATE "budget_reset_logs" SET "subject_id" = "user_id" WHERE "subject_id" IS NULL;