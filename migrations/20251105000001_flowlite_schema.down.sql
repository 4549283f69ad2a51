-- Drops the Flowlite schema, children before parents.
DROP TABLE IF EXISTS Insights;
DROP TABLE IF EXISTS InsightCategory;
DROP TABLE IF EXISTS `Transaction`;
DROP TABLE IF EXISTS TransactionBatch;
DROP TABLE IF EXISTS TransactionCategory;
DROP TABLE IF EXISTS Bank;
DROP TABLE IF EXISTS UserInfo;
DROP TABLE IF EXISTS `User`;
DROP TABLE IF EXISTS Role;
