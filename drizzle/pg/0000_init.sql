CREATE TABLE "api_keys" (
	"id" text PRIMARY KEY NOT NULL,
	"key_hash" text NOT NULL,
	"key_prefix" text NOT NULL,
	"key_name" text,
	"user_id" text,
	"created_at" timestamp with time zone NOT NULL,
	"last_used_at" timestamp with time zone,
	"expires_at" timestamp with time zone,
	"is_active" boolean DEFAULT true NOT NULL,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"rpm_limit" integer,
	"tpm_limit" integer,
	"allowed_models" jsonb,
	CONSTRAINT "api_keys_key_hash_unique" UNIQUE("key_hash")
);
--> statement-breakpoint
CREATE TABLE "budget_reservations" (
	"id" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"amount_micros" bigint NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "budget_reset_logs" (
	"id" serial PRIMARY KEY NOT NULL,
	"user_id" text,
	"budget_id" text NOT NULL,
	"previous_spend_micros" bigint NOT NULL,
	"reset_at" timestamp with time zone NOT NULL,
	"next_reset_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "budgets" (
	"budget_id" text PRIMARY KEY NOT NULL,
	"max_budget_micros" bigint,
	"budget_duration_sec" integer,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "model_pricing" (
	"model_key" text NOT NULL,
	"effective_at" timestamp with time zone NOT NULL,
	"input_price_per_million_micros" bigint NOT NULL,
	"output_price_per_million_micros" bigint NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	CONSTRAINT "model_pricing_model_key_effective_at_pk" PRIMARY KEY("model_key","effective_at")
);
--> statement-breakpoint
CREATE TABLE "rate_limit_counters" (
	"scope" text NOT NULL,
	"subject" text NOT NULL,
	"window_start" bigint NOT NULL,
	"requests" integer DEFAULT 0 NOT NULL,
	"tokens" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "rate_limit_counters_scope_subject_window_start_pk" PRIMARY KEY("scope","subject","window_start")
);
--> statement-breakpoint
CREATE TABLE "settings" (
	"key" text PRIMARY KEY NOT NULL,
	"value" text NOT NULL,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "usage_logs" (
	"id" text PRIMARY KEY NOT NULL,
	"api_key_id" text,
	"user_id" text,
	"timestamp" timestamp with time zone NOT NULL,
	"model" text NOT NULL,
	"provider" text,
	"endpoint" text NOT NULL,
	"prompt_tokens" integer,
	"completion_tokens" integer,
	"total_tokens" integer,
	"cost_micros" bigint,
	"status" text NOT NULL,
	"error_message" text,
	"cache_read_tokens" integer,
	"cache_write_tokens" integer,
	"status_code" integer,
	"estimated" boolean DEFAULT false NOT NULL,
	"request_id" text,
	"attempt" integer,
	"attempts" integer
);
--> statement-breakpoint
CREATE TABLE "users" (
	"user_id" text PRIMARY KEY NOT NULL,
	"alias" text,
	"spend_micros" bigint DEFAULT 0 NOT NULL,
	"reserved_micros" bigint DEFAULT 0 NOT NULL,
	"budget_id" text,
	"budget_started_at" timestamp with time zone,
	"next_budget_reset_at" timestamp with time zone,
	"blocked" boolean DEFAULT false NOT NULL,
	"deleted_at" timestamp with time zone,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"rpm_limit" integer,
	"tpm_limit" integer,
	"allowed_models" jsonb
);
--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_user_id_users_user_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("user_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "budget_reset_logs" ADD CONSTRAINT "budget_reset_logs_user_id_users_user_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("user_id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "budget_reset_logs" ADD CONSTRAINT "budget_reset_logs_budget_id_budgets_budget_id_fk" FOREIGN KEY ("budget_id") REFERENCES "public"."budgets"("budget_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "usage_logs" ADD CONSTRAINT "usage_logs_api_key_id_api_keys_id_fk" FOREIGN KEY ("api_key_id") REFERENCES "public"."api_keys"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "usage_logs" ADD CONSTRAINT "usage_logs_user_id_users_user_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("user_id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "users" ADD CONSTRAINT "users_budget_id_budgets_budget_id_fk" FOREIGN KEY ("budget_id") REFERENCES "public"."budgets"("budget_id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "ix_api_keys_user_id" ON "api_keys" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "ix_budget_reservations_expires_at" ON "budget_reservations" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "ix_budget_reservations_user_id" ON "budget_reservations" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "ix_budget_reset_logs_user_id" ON "budget_reset_logs" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "ix_budget_reset_logs_budget_id" ON "budget_reset_logs" USING btree ("budget_id");--> statement-breakpoint
CREATE INDEX "ix_usage_logs_api_key_id" ON "usage_logs" USING btree ("api_key_id");--> statement-breakpoint
CREATE INDEX "ix_usage_logs_user_id" ON "usage_logs" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "ix_usage_logs_timestamp" ON "usage_logs" USING btree ("timestamp");--> statement-breakpoint
CREATE INDEX "ix_usage_logs_user_ts" ON "usage_logs" USING btree ("user_id","timestamp");--> statement-breakpoint
CREATE INDEX "ix_users_deleted_at" ON "users" USING btree ("deleted_at");--> statement-breakpoint
CREATE INDEX "ix_users_next_reset" ON "users" USING btree ("next_budget_reset_at");