ALTER TABLE "usage_logs" ADD COLUMN "end_user_id" text;--> statement-breakpoint
CREATE INDEX "ix_usage_logs_end_user_id" ON "usage_logs" USING btree ("end_user_id") WHERE end_user_id IS NOT NULL;