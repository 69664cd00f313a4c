ALTER TABLE "api_keys" ADD COLUMN "capture_content" boolean;--> statement-breakpoint
ALTER TABLE "usage_logs" ADD COLUMN "trace_id" text;