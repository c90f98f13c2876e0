DROP TABLE plan_comments, plan_committee, plan_versions, plan_commitments, progress_plans;
