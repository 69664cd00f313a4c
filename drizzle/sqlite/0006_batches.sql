CREATE TABLE `batches` (
	`provider` text NOT NULL,
	`batch_id` text NOT NULL,
	`model` text NOT NULL,
	`user_id` text,
	`api_key_id` text,
	`request_count` integer NOT NULL,
	`estimate_micros` integer NOT NULL,
	`reservation_id` text,
	`created_at` integer NOT NULL,
	`settled_at` integer,
	`cost_micros` integer,
	PRIMARY KEY(`provider`, `batch_id`)
);
--> statement-breakpoint
CREATE INDEX `ix_batches_user_id` ON `batches` (`user_id`);