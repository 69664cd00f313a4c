ALTER TABLE `api_keys` ADD `capture_content` integer;--> statement-breakpoint
ALTER TABLE `usage_logs` ADD `trace_id` text;