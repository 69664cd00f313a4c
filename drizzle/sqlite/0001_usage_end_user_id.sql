ALTER TABLE `usage_logs` ADD `end_user_id` text;--> statement-breakpoint
CREATE INDEX `ix_usage_logs_end_user_id` ON `usage_logs` (`end_user_id`) WHERE end_user_id IS NOT NULL;