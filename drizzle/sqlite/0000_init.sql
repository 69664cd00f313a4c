CREATE TABLE `api_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`key_hash` text NOT NULL,
	`key_prefix` text NOT NULL,
	`key_name` text,
	`user_id` text,
	`created_at` integer NOT NULL,
	`last_used_at` integer,
	`expires_at` integer,
	`is_active` integer DEFAULT true NOT NULL,
	`metadata` text DEFAULT '{}' NOT NULL,
	`rpm_limit` integer,
	`tpm_limit` integer,
	`allowed_models` text,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`user_id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_keys_key_hash_unique` ON `api_keys` (`key_hash`);--> statement-breakpoint
CREATE INDEX `ix_api_keys_user_id` ON `api_keys` (`user_id`);--> statement-breakpoint
CREATE TABLE `budget_reservations` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`amount_micros` integer NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `ix_budget_reservations_expires_at` ON `budget_reservations` (`expires_at`);--> statement-breakpoint
CREATE INDEX `ix_budget_reservations_user_id` ON `budget_reservations` (`user_id`);--> statement-breakpoint
CREATE TABLE `budget_reset_logs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`user_id` text,
	`budget_id` text NOT NULL,
	`previous_spend_micros` integer NOT NULL,
	`reset_at` integer NOT NULL,
	`next_reset_at` integer,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`user_id`) ON UPDATE no action ON DELETE set null,
	FOREIGN KEY (`budget_id`) REFERENCES `budgets`(`budget_id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `ix_budget_reset_logs_user_id` ON `budget_reset_logs` (`user_id`);--> statement-breakpoint
CREATE INDEX `ix_budget_reset_logs_budget_id` ON `budget_reset_logs` (`budget_id`);--> statement-breakpoint
CREATE TABLE `budgets` (
	`budget_id` text PRIMARY KEY NOT NULL,
	`max_budget_micros` integer,
	`budget_duration_sec` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `model_pricing` (
	`model_key` text NOT NULL,
	`effective_at` integer NOT NULL,
	`input_price_per_million_micros` integer NOT NULL,
	`output_price_per_million_micros` integer NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`model_key`, `effective_at`)
);
--> statement-breakpoint
CREATE TABLE `rate_limit_counters` (
	`scope` text NOT NULL,
	`subject` text NOT NULL,
	`window_start` integer NOT NULL,
	`requests` integer DEFAULT 0 NOT NULL,
	`tokens` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`scope`, `subject`, `window_start`)
);
--> statement-breakpoint
CREATE TABLE `settings` (
	`key` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `usage_logs` (
	`id` text PRIMARY KEY NOT NULL,
	`api_key_id` text,
	`user_id` text,
	`timestamp` integer NOT NULL,
	`model` text NOT NULL,
	`provider` text,
	`endpoint` text NOT NULL,
	`prompt_tokens` integer,
	`completion_tokens` integer,
	`total_tokens` integer,
	`cost_micros` integer,
	`status` text NOT NULL,
	`error_message` text,
	`cache_read_tokens` integer,
	`cache_write_tokens` integer,
	`status_code` integer,
	`estimated` integer DEFAULT false NOT NULL,
	`request_id` text,
	`attempt` integer,
	`attempts` integer,
	FOREIGN KEY (`api_key_id`) REFERENCES `api_keys`(`id`) ON UPDATE no action ON DELETE set null,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`user_id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE INDEX `ix_usage_logs_api_key_id` ON `usage_logs` (`api_key_id`);--> statement-breakpoint
CREATE INDEX `ix_usage_logs_user_id` ON `usage_logs` (`user_id`);--> statement-breakpoint
CREATE INDEX `ix_usage_logs_timestamp` ON `usage_logs` (`timestamp`);--> statement-breakpoint
CREATE INDEX `ix_usage_logs_user_ts` ON `usage_logs` (`user_id`,`timestamp`);--> statement-breakpoint
CREATE TABLE `users` (
	`user_id` text PRIMARY KEY NOT NULL,
	`alias` text,
	`spend_micros` integer DEFAULT 0 NOT NULL,
	`reserved_micros` integer DEFAULT 0 NOT NULL,
	`budget_id` text,
	`budget_started_at` integer,
	`next_budget_reset_at` integer,
	`blocked` integer DEFAULT false NOT NULL,
	`deleted_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`metadata` text DEFAULT '{}' NOT NULL,
	`rpm_limit` integer,
	`tpm_limit` integer,
	`allowed_models` text,
	FOREIGN KEY (`budget_id`) REFERENCES `budgets`(`budget_id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `ix_users_deleted_at` ON `users` (`deleted_at`);--> statement-breakpoint
CREATE INDEX `ix_users_next_reset` ON `users` (`next_budget_reset_at`);