-- import recognises a provider or module whose files are unchanged by their hash
-- (registry_import_sources) and leaves its rows alone, and it stores each provider's
-- versions listing beside its rows (registry_providers.versions_document). Both hold only
-- while nothing else changes those rows. A write from anywhere but import (a fix by hand,
-- another tool) therefore makes import forget what it recorded for that kind: the next
-- import reads every file of the kind again and puts the rows back as the files say, and
-- the listings are built from the rows until then. import marks its own transaction with
-- the setting tofu_registry.importing. Statement-level triggers: one call per statement,
-- however many rows; the API's `UPDATE … SET downloads = …` does not fire them.
CREATE OR REPLACE FUNCTION registry_import_forget()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF current_setting('tofu_registry.importing', true) IS DISTINCT FROM 'on' THEN
        DELETE FROM public.registry_import_sources WHERE kind = TG_ARGV[0];
        IF TG_ARGV[0] = 'provider' THEN
            UPDATE public.registry_providers SET versions_document = NULL WHERE versions_document IS NOT NULL;
        END IF;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER providers_forget_import
    AFTER INSERT OR DELETE OR UPDATE OF namespace, name, version, source_url, published_at, protocols, shasums_url, shasums_signature_url
    ON providers FOR EACH STATEMENT EXECUTE FUNCTION registry_import_forget('provider');
CREATE TRIGGER providers_truncate_forget_import
    AFTER TRUNCATE ON providers FOR EACH STATEMENT EXECUTE FUNCTION registry_import_forget('provider');
CREATE TRIGGER provider_platforms_forget_import
    AFTER INSERT OR UPDATE OR DELETE ON provider_platforms FOR EACH STATEMENT EXECUTE FUNCTION registry_import_forget('provider');
CREATE TRIGGER provider_platforms_truncate_forget_import
    AFTER TRUNCATE ON provider_platforms FOR EACH STATEMENT EXECUTE FUNCTION registry_import_forget('provider');
CREATE TRIGGER registry_providers_forget_import
    AFTER INSERT OR DELETE OR UPDATE OF namespace, name, warnings
    ON registry_providers FOR EACH STATEMENT EXECUTE FUNCTION registry_import_forget('provider');
CREATE TRIGGER registry_providers_truncate_forget_import
    AFTER TRUNCATE ON registry_providers FOR EACH STATEMENT EXECUTE FUNCTION registry_import_forget('provider');
CREATE TRIGGER modules_forget_import
    AFTER INSERT OR DELETE OR UPDATE OF namespace, name, provider, version, source_url, published_at, tag, "commit"
    ON modules FOR EACH STATEMENT EXECUTE FUNCTION registry_import_forget('module');
CREATE TRIGGER modules_truncate_forget_import
    AFTER TRUNCATE ON modules FOR EACH STATEMENT EXECUTE FUNCTION registry_import_forget('module');
CREATE TRIGGER registry_modules_forget_import
    AFTER INSERT OR UPDATE OR DELETE ON registry_modules FOR EACH STATEMENT EXECUTE FUNCTION registry_import_forget('module');
CREATE TRIGGER registry_modules_truncate_forget_import
    AFTER TRUNCATE ON registry_modules FOR EACH STATEMENT EXECUTE FUNCTION registry_import_forget('module');
