CREATE TABLE "ui_sessions" (
	"id_hash" text PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "usage_marginals" (
	"dim" text NOT NULL,
	"grain" text NOT NULL,
	"bucket" timestamp with time zone NOT NULL,
	"value" text NOT NULL,
	"requests" bigint DEFAULT 0 NOT NULL,
	"errors" bigint DEFAULT 0 NOT NULL,
	"prompt_tokens" bigint DEFAULT 0 NOT NULL,
	"completion_tokens" bigint DEFAULT 0 NOT NULL,
	"total_tokens" bigint DEFAULT 0 NOT NULL,
	"cost_micros" bigint DEFAULT 0 NOT NULL,
	"latency_count" bigint DEFAULT 0 NOT NULL,
	"latency_ms_sum" bigint DEFAULT 0 NOT NULL,
	"latency_ms_max" bigint DEFAULT 0 NOT NULL,
	"ttfb_count" bigint DEFAULT 0 NOT NULL,
	"ttfb_ms_sum" bigint DEFAULT 0 NOT NULL,
	"lat_00" bigint DEFAULT 0 NOT NULL,
	"lat_01" bigint DEFAULT 0 NOT NULL,
	"lat_02" bigint DEFAULT 0 NOT NULL,
	"lat_03" bigint DEFAULT 0 NOT NULL,
	"lat_04" bigint DEFAULT 0 NOT NULL,
	"lat_05" bigint DEFAULT 0 NOT NULL,
	"lat_06" bigint DEFAULT 0 NOT NULL,
	"lat_07" bigint DEFAULT 0 NOT NULL,
	"lat_08" bigint DEFAULT 0 NOT NULL,
	"lat_09" bigint DEFAULT 0 NOT NULL,
	"lat_10" bigint DEFAULT 0 NOT NULL,
	"lat_11" bigint DEFAULT 0 NOT NULL,
	"lat_12" bigint DEFAULT 0 NOT NULL,
	"lat_13" bigint DEFAULT 0 NOT NULL,
	"lat_14" bigint DEFAULT 0 NOT NULL,
	"lat_15" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "usage_marginals_dim_grain_bucket_value_pk" PRIMARY KEY("dim","grain","bucket","value")
);
--> statement-breakpoint
CREATE TABLE "usage_rollup_dirty" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"hour" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "usage_rollups" (
	"hour" timestamp with time zone NOT NULL,
	"user_id" text DEFAULT '' NOT NULL,
	"api_key_id" text DEFAULT '' NOT NULL,
	"end_user_id" text DEFAULT '' NOT NULL,
	"model" text DEFAULT '' NOT NULL,
	"provider" text DEFAULT '' NOT NULL,
	"status" text DEFAULT '' NOT NULL,
	"status_code" integer DEFAULT 0 NOT NULL,
	"requests" bigint DEFAULT 0 NOT NULL,
	"errors" bigint DEFAULT 0 NOT NULL,
	"prompt_tokens" bigint DEFAULT 0 NOT NULL,
	"completion_tokens" bigint DEFAULT 0 NOT NULL,
	"total_tokens" bigint DEFAULT 0 NOT NULL,
	"cost_micros" bigint DEFAULT 0 NOT NULL,
	"latency_count" bigint DEFAULT 0 NOT NULL,
	"latency_ms_sum" bigint DEFAULT 0 NOT NULL,
	"latency_ms_max" bigint DEFAULT 0 NOT NULL,
	"ttfb_count" bigint DEFAULT 0 NOT NULL,
	"ttfb_ms_sum" bigint DEFAULT 0 NOT NULL,
	"lat_00" bigint DEFAULT 0 NOT NULL,
	"lat_01" bigint DEFAULT 0 NOT NULL,
	"lat_02" bigint DEFAULT 0 NOT NULL,
	"lat_03" bigint DEFAULT 0 NOT NULL,
	"lat_04" bigint DEFAULT 0 NOT NULL,
	"lat_05" bigint DEFAULT 0 NOT NULL,
	"lat_06" bigint DEFAULT 0 NOT NULL,
	"lat_07" bigint DEFAULT 0 NOT NULL,
	"lat_08" bigint DEFAULT 0 NOT NULL,
	"lat_09" bigint DEFAULT 0 NOT NULL,
	"lat_10" bigint DEFAULT 0 NOT NULL,
	"lat_11" bigint DEFAULT 0 NOT NULL,
	"lat_12" bigint DEFAULT 0 NOT NULL,
	"lat_13" bigint DEFAULT 0 NOT NULL,
	"lat_14" bigint DEFAULT 0 NOT NULL,
	"lat_15" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "usage_rollups_hour_user_id_api_key_id_end_user_id_model_provider_status_status_code_pk" PRIMARY KEY("hour","user_id","api_key_id","end_user_id","model","provider","status","status_code")
);
--> statement-breakpoint
DROP INDEX "ix_usage_logs_api_key_id";--> statement-breakpoint
DROP INDEX "ix_usage_logs_user_id";--> statement-breakpoint
DROP INDEX "ix_usage_logs_end_user_id";--> statement-breakpoint
ALTER TABLE "usage_logs" ADD COLUMN "latency_ms" integer;--> statement-breakpoint
ALTER TABLE "usage_logs" ADD COLUMN "ttfb_ms" integer;--> statement-breakpoint
CREATE INDEX "ix_ui_sessions_expires_at" ON "ui_sessions" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "ix_usage_marginals_value" ON "usage_marginals" USING btree ("dim","grain","value","bucket");--> statement-breakpoint
CREATE INDEX "ix_usage_marginals_rank" ON "usage_marginals" USING btree ("dim","grain","bucket","value","requests","cost_micros","total_tokens","errors");--> statement-breakpoint
CREATE INDEX "ix_usage_rollup_dirty_hour" ON "usage_rollup_dirty" USING btree ("hour");--> statement-breakpoint
CREATE INDEX "ix_usage_rollups_key_hour" ON "usage_rollups" USING btree ("api_key_id","hour");--> statement-breakpoint
CREATE INDEX "ix_usage_rollups_user_hour" ON "usage_rollups" USING btree ("user_id","hour");--> statement-breakpoint
CREATE INDEX "ix_usage_logs_key_ts" ON "usage_logs" USING btree ("api_key_id","timestamp");--> statement-breakpoint
CREATE INDEX "ix_usage_logs_end_user_ts" ON "usage_logs" USING btree ("end_user_id","timestamp") WHERE end_user_id IS NOT NULL;--> statement-breakpoint
-- Backfill: rollups and marginals of the rows written before this migration (the usage writer keeps them from now on).
INSERT INTO usage_rollups (hour, user_id, api_key_id, end_user_id, model, provider, status, status_code, requests, errors, prompt_tokens, completion_tokens, total_tokens, cost_micros, latency_count, latency_ms_sum, ttfb_count, ttfb_ms_sum, lat_00, lat_01, lat_02, lat_03, lat_04, lat_05, lat_06, lat_07, lat_08, lat_09, lat_10, lat_11, lat_12, lat_13, lat_14, lat_15, latency_ms_max) SELECT hour, user_id, api_key_id, end_user_id, model, provider, status, status_code, SUM(requests) AS requests, SUM(errors) AS errors, SUM(prompt_tokens) AS prompt_tokens, SUM(completion_tokens) AS completion_tokens, SUM(total_tokens) AS total_tokens, SUM(cost_micros) AS cost_micros, SUM(latency_count) AS latency_count, SUM(latency_ms_sum) AS latency_ms_sum, SUM(ttfb_count) AS ttfb_count, SUM(ttfb_ms_sum) AS ttfb_ms_sum, SUM(lat_00) AS lat_00, SUM(lat_01) AS lat_01, SUM(lat_02) AS lat_02, SUM(lat_03) AS lat_03, SUM(lat_04) AS lat_04, SUM(lat_05) AS lat_05, SUM(lat_06) AS lat_06, SUM(lat_07) AS lat_07, SUM(lat_08) AS lat_08, SUM(lat_09) AS lat_09, SUM(lat_10) AS lat_10, SUM(lat_11) AS lat_11, SUM(lat_12) AS lat_12, SUM(lat_13) AS lat_13, SUM(lat_14) AS lat_14, SUM(lat_15) AS lat_15, MAX(latency_ms_max) AS latency_ms_max FROM (SELECT (date_trunc('hour', "timestamp" AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') AS hour, COALESCE(user_id, '') AS user_id, COALESCE(api_key_id, '') AS api_key_id, COALESCE(end_user_id, '') AS end_user_id, COALESCE(model, '') AS model, COALESCE(provider, '') AS provider, COALESCE(status, '') AS status, COALESCE(status_code, 0) AS status_code, 1 AS requests, CASE WHEN status = 'error' THEN 1 ELSE 0 END AS errors, COALESCE(prompt_tokens, 0) AS prompt_tokens, COALESCE(completion_tokens, 0) AS completion_tokens, COALESCE(total_tokens, 0) AS total_tokens, COALESCE(cost_micros, 0) AS cost_micros, CASE WHEN latency_ms IS NULL THEN 0 ELSE 1 END AS latency_count, COALESCE(latency_ms, 0) AS latency_ms_sum, CASE WHEN ttfb_ms IS NULL THEN 0 ELSE 1 END AS ttfb_count, COALESCE(ttfb_ms, 0) AS ttfb_ms_sum, CASE WHEN latency_ms IS NOT NULL AND latency_ms < 100 THEN 1 ELSE 0 END AS lat_00, CASE WHEN latency_ms IS NOT NULL AND latency_ms >= 100 AND latency_ms < 200 THEN 1 ELSE 0 END AS lat_01, CASE WHEN latency_ms IS NOT NULL AND latency_ms >= 200 AND latency_ms < 300 THEN 1 ELSE 0 END AS lat_02, CASE WHEN latency_ms IS NOT NULL AND latency_ms >= 300 AND latency_ms < 500 THEN 1 ELSE 0 END AS lat_03, CASE WHEN latency_ms IS NOT NULL AND latency_ms >= 500 AND latency_ms < 750 THEN 1 ELSE 0 END AS lat_04, CASE WHEN latency_ms IS NOT NULL AND latency_ms >= 750 AND latency_ms < 1000 THEN 1 ELSE 0 END AS lat_05, CASE WHEN latency_ms IS NOT NULL AND latency_ms >= 1000 AND latency_ms < 1500 THEN 1 ELSE 0 END AS lat_06, CASE WHEN latency_ms IS NOT NULL AND latency_ms >= 1500 AND latency_ms < 2000 THEN 1 ELSE 0 END AS lat_07, CASE WHEN latency_ms IS NOT NULL AND latency_ms >= 2000 AND latency_ms < 3000 THEN 1 ELSE 0 END AS lat_08, CASE WHEN latency_ms IS NOT NULL AND latency_ms >= 3000 AND latency_ms < 5000 THEN 1 ELSE 0 END AS lat_09, CASE WHEN latency_ms IS NOT NULL AND latency_ms >= 5000 AND latency_ms < 7500 THEN 1 ELSE 0 END AS lat_10, CASE WHEN latency_ms IS NOT NULL AND latency_ms >= 7500 AND latency_ms < 10000 THEN 1 ELSE 0 END AS lat_11, CASE WHEN latency_ms IS NOT NULL AND latency_ms >= 10000 AND latency_ms < 15000 THEN 1 ELSE 0 END AS lat_12, CASE WHEN latency_ms IS NOT NULL AND latency_ms >= 15000 AND latency_ms < 30000 THEN 1 ELSE 0 END AS lat_13, CASE WHEN latency_ms IS NOT NULL AND latency_ms >= 30000 AND latency_ms < 60000 THEN 1 ELSE 0 END AS lat_14, CASE WHEN latency_ms IS NOT NULL AND latency_ms >= 60000 THEN 1 ELSE 0 END AS lat_15, COALESCE(latency_ms, 0) AS latency_ms_max FROM usage_logs) r GROUP BY hour, user_id, api_key_id, end_user_id, model, provider, status, status_code;--> statement-breakpoint
INSERT INTO usage_marginals (dim, grain, bucket, value, requests, errors, prompt_tokens, completion_tokens, total_tokens, cost_micros, latency_count, latency_ms_sum, ttfb_count, ttfb_ms_sum, lat_00, lat_01, lat_02, lat_03, lat_04, lat_05, lat_06, lat_07, lat_08, lat_09, lat_10, lat_11, lat_12, lat_13, lat_14, lat_15, latency_ms_max) SELECT '', 'h', hour, '', SUM(requests) AS requests, SUM(errors) AS errors, SUM(prompt_tokens) AS prompt_tokens, SUM(completion_tokens) AS completion_tokens, SUM(total_tokens) AS total_tokens, SUM(cost_micros) AS cost_micros, SUM(latency_count) AS latency_count, SUM(latency_ms_sum) AS latency_ms_sum, SUM(ttfb_count) AS ttfb_count, SUM(ttfb_ms_sum) AS ttfb_ms_sum, SUM(lat_00) AS lat_00, SUM(lat_01) AS lat_01, SUM(lat_02) AS lat_02, SUM(lat_03) AS lat_03, SUM(lat_04) AS lat_04, SUM(lat_05) AS lat_05, SUM(lat_06) AS lat_06, SUM(lat_07) AS lat_07, SUM(lat_08) AS lat_08, SUM(lat_09) AS lat_09, SUM(lat_10) AS lat_10, SUM(lat_11) AS lat_11, SUM(lat_12) AS lat_12, SUM(lat_13) AS lat_13, SUM(lat_14) AS lat_14, SUM(lat_15) AS lat_15, MAX(latency_ms_max) AS latency_ms_max FROM usage_rollups GROUP BY hour UNION ALL SELECT 'user', 'h', hour, user_id, SUM(requests) AS requests, SUM(errors) AS errors, SUM(prompt_tokens) AS prompt_tokens, SUM(completion_tokens) AS completion_tokens, SUM(total_tokens) AS total_tokens, SUM(cost_micros) AS cost_micros, SUM(latency_count) AS latency_count, SUM(latency_ms_sum) AS latency_ms_sum, SUM(ttfb_count) AS ttfb_count, SUM(ttfb_ms_sum) AS ttfb_ms_sum, SUM(lat_00) AS lat_00, SUM(lat_01) AS lat_01, SUM(lat_02) AS lat_02, SUM(lat_03) AS lat_03, SUM(lat_04) AS lat_04, SUM(lat_05) AS lat_05, SUM(lat_06) AS lat_06, SUM(lat_07) AS lat_07, SUM(lat_08) AS lat_08, SUM(lat_09) AS lat_09, SUM(lat_10) AS lat_10, SUM(lat_11) AS lat_11, SUM(lat_12) AS lat_12, SUM(lat_13) AS lat_13, SUM(lat_14) AS lat_14, SUM(lat_15) AS lat_15, MAX(latency_ms_max) AS latency_ms_max FROM usage_rollups GROUP BY hour, user_id UNION ALL SELECT 'key', 'h', hour, api_key_id, SUM(requests) AS requests, SUM(errors) AS errors, SUM(prompt_tokens) AS prompt_tokens, SUM(completion_tokens) AS completion_tokens, SUM(total_tokens) AS total_tokens, SUM(cost_micros) AS cost_micros, SUM(latency_count) AS latency_count, SUM(latency_ms_sum) AS latency_ms_sum, SUM(ttfb_count) AS ttfb_count, SUM(ttfb_ms_sum) AS ttfb_ms_sum, SUM(lat_00) AS lat_00, SUM(lat_01) AS lat_01, SUM(lat_02) AS lat_02, SUM(lat_03) AS lat_03, SUM(lat_04) AS lat_04, SUM(lat_05) AS lat_05, SUM(lat_06) AS lat_06, SUM(lat_07) AS lat_07, SUM(lat_08) AS lat_08, SUM(lat_09) AS lat_09, SUM(lat_10) AS lat_10, SUM(lat_11) AS lat_11, SUM(lat_12) AS lat_12, SUM(lat_13) AS lat_13, SUM(lat_14) AS lat_14, SUM(lat_15) AS lat_15, MAX(latency_ms_max) AS latency_ms_max FROM usage_rollups GROUP BY hour, api_key_id UNION ALL SELECT 'end_user', 'h', hour, end_user_id, SUM(requests) AS requests, SUM(errors) AS errors, SUM(prompt_tokens) AS prompt_tokens, SUM(completion_tokens) AS completion_tokens, SUM(total_tokens) AS total_tokens, SUM(cost_micros) AS cost_micros, SUM(latency_count) AS latency_count, SUM(latency_ms_sum) AS latency_ms_sum, SUM(ttfb_count) AS ttfb_count, SUM(ttfb_ms_sum) AS ttfb_ms_sum, SUM(lat_00) AS lat_00, SUM(lat_01) AS lat_01, SUM(lat_02) AS lat_02, SUM(lat_03) AS lat_03, SUM(lat_04) AS lat_04, SUM(lat_05) AS lat_05, SUM(lat_06) AS lat_06, SUM(lat_07) AS lat_07, SUM(lat_08) AS lat_08, SUM(lat_09) AS lat_09, SUM(lat_10) AS lat_10, SUM(lat_11) AS lat_11, SUM(lat_12) AS lat_12, SUM(lat_13) AS lat_13, SUM(lat_14) AS lat_14, SUM(lat_15) AS lat_15, MAX(latency_ms_max) AS latency_ms_max FROM usage_rollups GROUP BY hour, end_user_id UNION ALL SELECT 'model', 'h', hour, provider || ':' || model, SUM(requests) AS requests, SUM(errors) AS errors, SUM(prompt_tokens) AS prompt_tokens, SUM(completion_tokens) AS completion_tokens, SUM(total_tokens) AS total_tokens, SUM(cost_micros) AS cost_micros, SUM(latency_count) AS latency_count, SUM(latency_ms_sum) AS latency_ms_sum, SUM(ttfb_count) AS ttfb_count, SUM(ttfb_ms_sum) AS ttfb_ms_sum, SUM(lat_00) AS lat_00, SUM(lat_01) AS lat_01, SUM(lat_02) AS lat_02, SUM(lat_03) AS lat_03, SUM(lat_04) AS lat_04, SUM(lat_05) AS lat_05, SUM(lat_06) AS lat_06, SUM(lat_07) AS lat_07, SUM(lat_08) AS lat_08, SUM(lat_09) AS lat_09, SUM(lat_10) AS lat_10, SUM(lat_11) AS lat_11, SUM(lat_12) AS lat_12, SUM(lat_13) AS lat_13, SUM(lat_14) AS lat_14, SUM(lat_15) AS lat_15, MAX(latency_ms_max) AS latency_ms_max FROM usage_rollups GROUP BY hour, provider || ':' || model UNION ALL SELECT 'provider', 'h', hour, provider, SUM(requests) AS requests, SUM(errors) AS errors, SUM(prompt_tokens) AS prompt_tokens, SUM(completion_tokens) AS completion_tokens, SUM(total_tokens) AS total_tokens, SUM(cost_micros) AS cost_micros, SUM(latency_count) AS latency_count, SUM(latency_ms_sum) AS latency_ms_sum, SUM(ttfb_count) AS ttfb_count, SUM(ttfb_ms_sum) AS ttfb_ms_sum, SUM(lat_00) AS lat_00, SUM(lat_01) AS lat_01, SUM(lat_02) AS lat_02, SUM(lat_03) AS lat_03, SUM(lat_04) AS lat_04, SUM(lat_05) AS lat_05, SUM(lat_06) AS lat_06, SUM(lat_07) AS lat_07, SUM(lat_08) AS lat_08, SUM(lat_09) AS lat_09, SUM(lat_10) AS lat_10, SUM(lat_11) AS lat_11, SUM(lat_12) AS lat_12, SUM(lat_13) AS lat_13, SUM(lat_14) AS lat_14, SUM(lat_15) AS lat_15, MAX(latency_ms_max) AS latency_ms_max FROM usage_rollups GROUP BY hour, provider UNION ALL SELECT 'status', 'h', hour, status, SUM(requests) AS requests, SUM(errors) AS errors, SUM(prompt_tokens) AS prompt_tokens, SUM(completion_tokens) AS completion_tokens, SUM(total_tokens) AS total_tokens, SUM(cost_micros) AS cost_micros, SUM(latency_count) AS latency_count, SUM(latency_ms_sum) AS latency_ms_sum, SUM(ttfb_count) AS ttfb_count, SUM(ttfb_ms_sum) AS ttfb_ms_sum, SUM(lat_00) AS lat_00, SUM(lat_01) AS lat_01, SUM(lat_02) AS lat_02, SUM(lat_03) AS lat_03, SUM(lat_04) AS lat_04, SUM(lat_05) AS lat_05, SUM(lat_06) AS lat_06, SUM(lat_07) AS lat_07, SUM(lat_08) AS lat_08, SUM(lat_09) AS lat_09, SUM(lat_10) AS lat_10, SUM(lat_11) AS lat_11, SUM(lat_12) AS lat_12, SUM(lat_13) AS lat_13, SUM(lat_14) AS lat_14, SUM(lat_15) AS lat_15, MAX(latency_ms_max) AS latency_ms_max FROM usage_rollups GROUP BY hour, status UNION ALL SELECT 'status_code', 'h', hour, CAST(status_code AS TEXT), SUM(requests) AS requests, SUM(errors) AS errors, SUM(prompt_tokens) AS prompt_tokens, SUM(completion_tokens) AS completion_tokens, SUM(total_tokens) AS total_tokens, SUM(cost_micros) AS cost_micros, SUM(latency_count) AS latency_count, SUM(latency_ms_sum) AS latency_ms_sum, SUM(ttfb_count) AS ttfb_count, SUM(ttfb_ms_sum) AS ttfb_ms_sum, SUM(lat_00) AS lat_00, SUM(lat_01) AS lat_01, SUM(lat_02) AS lat_02, SUM(lat_03) AS lat_03, SUM(lat_04) AS lat_04, SUM(lat_05) AS lat_05, SUM(lat_06) AS lat_06, SUM(lat_07) AS lat_07, SUM(lat_08) AS lat_08, SUM(lat_09) AS lat_09, SUM(lat_10) AS lat_10, SUM(lat_11) AS lat_11, SUM(lat_12) AS lat_12, SUM(lat_13) AS lat_13, SUM(lat_14) AS lat_14, SUM(lat_15) AS lat_15, MAX(latency_ms_max) AS latency_ms_max FROM usage_rollups GROUP BY hour, CAST(status_code AS TEXT);--> statement-breakpoint
INSERT INTO usage_marginals (dim, grain, bucket, value, requests, errors, prompt_tokens, completion_tokens, total_tokens, cost_micros, latency_count, latency_ms_sum, ttfb_count, ttfb_ms_sum, lat_00, lat_01, lat_02, lat_03, lat_04, lat_05, lat_06, lat_07, lat_08, lat_09, lat_10, lat_11, lat_12, lat_13, lat_14, lat_15, latency_ms_max) SELECT dim, 'd', day, value, SUM(requests) AS requests, SUM(errors) AS errors, SUM(prompt_tokens) AS prompt_tokens, SUM(completion_tokens) AS completion_tokens, SUM(total_tokens) AS total_tokens, SUM(cost_micros) AS cost_micros, SUM(latency_count) AS latency_count, SUM(latency_ms_sum) AS latency_ms_sum, SUM(ttfb_count) AS ttfb_count, SUM(ttfb_ms_sum) AS ttfb_ms_sum, SUM(lat_00) AS lat_00, SUM(lat_01) AS lat_01, SUM(lat_02) AS lat_02, SUM(lat_03) AS lat_03, SUM(lat_04) AS lat_04, SUM(lat_05) AS lat_05, SUM(lat_06) AS lat_06, SUM(lat_07) AS lat_07, SUM(lat_08) AS lat_08, SUM(lat_09) AS lat_09, SUM(lat_10) AS lat_10, SUM(lat_11) AS lat_11, SUM(lat_12) AS lat_12, SUM(lat_13) AS lat_13, SUM(lat_14) AS lat_14, SUM(lat_15) AS lat_15, MAX(latency_ms_max) AS latency_ms_max FROM (SELECT dim, (date_trunc('day', bucket AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') AS day, value, requests, errors, prompt_tokens, completion_tokens, total_tokens, cost_micros, latency_count, latency_ms_sum, ttfb_count, ttfb_ms_sum, lat_00, lat_01, lat_02, lat_03, lat_04, lat_05, lat_06, lat_07, lat_08, lat_09, lat_10, lat_11, lat_12, lat_13, lat_14, lat_15, latency_ms_max FROM usage_marginals WHERE grain = 'h') m GROUP BY dim, day, value;
