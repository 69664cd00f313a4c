ALTER TABLE `budget_reservations` RENAME COLUMN "user_id" TO "subject_id";--> statement-breakpoint
CREATE TABLE `alert_deliveries` (
	`id` text PRIMARY KEY NOT NULL,
	`rule_id` text NOT NULL,
	`subject_kind` text NOT NULL,
	`subject_id` text NOT NULL,
	`user_id` text,
	`label` text NOT NULL,
	`window_start` integer NOT NULL,
	`threshold` text NOT NULL,
	`spend_micros` integer NOT NULL,
	`max_budget_micros` integer,
	`status` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`next_attempt_at` integer NOT NULL,
	`lease_until` integer,
	`claimed_by` text,
	`last_error` text,
	`created_at` integer NOT NULL,
	`delivered_at` integer,
	FOREIGN KEY (`rule_id`) REFERENCES `alert_rules`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `ux_alert_deliveries_once` ON `alert_deliveries` (`rule_id`,`subject_kind`,`subject_id`,`window_start`,`threshold`);--> statement-breakpoint
CREATE INDEX `ix_alert_deliveries_due` ON `alert_deliveries` (`status`,`next_attempt_at`);--> statement-breakpoint
CREATE TABLE `alert_rules` (
	`id` text PRIMARY KEY NOT NULL,
	`scope` text NOT NULL,
	`scope_id` text,
	`thresholds` text NOT NULL,
	`url` text NOT NULL,
	`format` text NOT NULL,
	`secret` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `concurrency_counters` (
	`scope` text NOT NULL,
	`subject` text NOT NULL,
	`held` integer DEFAULT 0 NOT NULL,
	`granted` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`scope`, `subject`)
);
--> statement-breakpoint
CREATE TABLE `concurrency_leases` (
	`id` text PRIMARY KEY NOT NULL,
	`scope` text NOT NULL,
	`subject` text NOT NULL,
	`slots` integer NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `ix_concurrency_leases_subject` ON `concurrency_leases` (`scope`,`subject`);--> statement-breakpoint
CREATE INDEX `ix_concurrency_leases_expires_at` ON `concurrency_leases` (`expires_at`);--> statement-breakpoint
CREATE TABLE `end_users` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`end_user_id` text NOT NULL,
	`budget_id` text,
	`spend_micros` integer DEFAULT 0 NOT NULL,
	`reserved_micros` integer DEFAULT 0 NOT NULL,
	`budget_started_at` integer,
	`next_budget_reset_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`user_id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`budget_id`) REFERENCES `budgets`(`budget_id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE INDEX `ix_end_users_user` ON `end_users` (`user_id`,`end_user_id`);--> statement-breakpoint
CREATE INDEX `ix_end_users_next_reset` ON `end_users` (`next_budget_reset_at`);--> statement-breakpoint
CREATE TABLE `rate_limit_rules` (
	`id` text PRIMARY KEY NOT NULL,
	`scope` text NOT NULL,
	`scope_id` text,
	`model` text,
	`rpm_limit` integer,
	`tpm_limit` integer,
	`max_concurrent` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `teams` (
	`team_id` text PRIMARY KEY NOT NULL,
	`alias` text,
	`spend_micros` integer DEFAULT 0 NOT NULL,
	`reserved_micros` integer DEFAULT 0 NOT NULL,
	`budget_id` text,
	`budget_started_at` integer,
	`next_budget_reset_at` integer,
	`blocked` integer DEFAULT false NOT NULL,
	`metadata` text DEFAULT '{}' NOT NULL,
	`rpm_limit` integer,
	`tpm_limit` integer,
	`max_concurrent` integer,
	`allowed_models` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`budget_id`) REFERENCES `budgets`(`budget_id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `ix_teams_next_reset` ON `teams` (`next_budget_reset_at`);--> statement-breakpoint
DROP INDEX `ix_budget_reservations_user_id`;--> statement-breakpoint
ALTER TABLE `budget_reservations` ADD `subject_kind` text DEFAULT 'user' NOT NULL;--> statement-breakpoint
CREATE INDEX `ix_budget_reservations_subject` ON `budget_reservations` (`subject_kind`,`subject_id`);--> statement-breakpoint
ALTER TABLE `api_keys` ADD `budget_id` text REFERENCES budgets(budget_id);--> statement-breakpoint
ALTER TABLE `api_keys` ADD `spend_micros` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `api_keys` ADD `reserved_micros` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `api_keys` ADD `budget_started_at` integer;--> statement-breakpoint
ALTER TABLE `api_keys` ADD `next_budget_reset_at` integer;--> statement-breakpoint
ALTER TABLE `api_keys` ADD `max_concurrent` integer;--> statement-breakpoint
ALTER TABLE `api_keys` ADD `end_user_budget_id` text REFERENCES budgets(budget_id);--> statement-breakpoint
CREATE INDEX `ix_api_keys_next_reset` ON `api_keys` (`next_budget_reset_at`);--> statement-breakpoint
ALTER TABLE `budget_reset_logs` ADD `subject_kind` text DEFAULT 'user' NOT NULL;--> statement-breakpoint
ALTER TABLE `budget_reset_logs` ADD `subject_id` text;--> statement-breakpoint
ALTER TABLE `usage_logs` ADD `team_id` text;--> statement-breakpoint
CREATE INDEX `ix_usage_logs_team_ts` ON `usage_logs` (`team_id`,`timestamp`) WHERE team_id IS NOT NULL;--> statement-breakpoint
ALTER TABLE `users` ADD `team_id` text REFERENCES teams(team_id);--> statement-breakpoint
ALTER TABLE `users` ADD `max_concurrent` integer;--> statement-breakpoint
ALTER TABLE `users` ADD `end_user_budget_id` text REFERENCES budgets(budget_id);--> statement-breakpoint
CREATE INDEX `ix_users_team_id` ON `users` (`team_id`);--> statement-breakpoint
-- Reset logs written before levels existed are user resets.
UPDATE `budget_reset_logs` SET `subject_id` = `user_id` WHERE `subject_id` IS NULL;