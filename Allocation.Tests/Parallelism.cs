// Fixtures run in parallel with each other; a fixture's own tests run one after another.
//
// What makes that safe: unit fixtures share nothing; integration fixtures share one database but
// each test uses rows of its own (unique SKUs, references and order ids); end-to-end fixtures on
// ApiFixture each have an API and a database of their own, since they check that whole tables are
// unchanged (DatabaseSnapshot refuses the shared database).
//
// What stays alone ([NonParallelizable]): fixtures that stop, freeze or reconfigure a database,
// run API processes, or hold tests to deadlines of a second or less, which other work on a
// 2-core machine would push past.
[assembly: Parallelizable(ParallelScope.Fixtures)]

// Two workers for two cores: the parallel fixtures mostly wait on PostgreSQL and HTTP, but both
// sides of that run on the same two cores.
[assembly: LevelOfParallelism(2)]
