mod accounts;
mod auth;
mod authz;
mod cli;
mod health;
mod helpers;
mod institutions;
mod spec;
