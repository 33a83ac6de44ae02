#!/usr/bin/env node
// `npm start`: installs what is missing, provides PostgreSQL and Redis, migrates, creates the
// first administrator and the default repository, starts web + controller + mover.
import { main } from './lib/bootstrap.mjs';

main('start.ts');
