using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.AspNetCore.DataProtection.XmlEncryption;

namespace Allocation.Api.Operations;

/// <summary>
/// Data Protection keys in memory only. Nothing here protects data that must outlive the process:
/// the API sets no cookies, uses no antiforgery tokens and no sessions (bearer tokens are checked
/// against the identity provider's keys, not Data Protection's). ASP.NET Core still registers Data
/// Protection and creates a key ring at start; left to itself it writes the keys, unencrypted, to
/// a folder of the container and warns twice on every start. Kept in memory, there is nothing to
/// persist or encrypt, and nothing to warn about.
/// </summary>
internal static class InMemoryDataProtection
{
    public static IServiceCollection AddInMemoryDataProtection(this IServiceCollection services)
    {
        services.AddDataProtection().SetApplicationName("allocation");
        services.Configure<KeyManagementOptions>(keys =>
        {
            keys.XmlRepository = new MemoryRepository();
            keys.XmlEncryptor = new InMemoryOnly();
        });
        return services;
    }

    private sealed class MemoryRepository : IXmlRepository
    {
        private readonly List<XElement> _elements = [];

        public IReadOnlyCollection<XElement> GetAllElements()
        {
            lock (_elements)
            {
                return _elements.Select(element => new XElement(element)).ToList();
            }
        }

        public void StoreElement(XElement element, string friendlyName)
        {
            lock (_elements)
            {
                _elements.Add(new XElement(element));
            }
        }
    }

    /// <summary>Keys never leave the process, so there is nothing to encrypt them against.</summary>
    private sealed class InMemoryOnly : IXmlEncryptor
    {
        public EncryptedXmlInfo Encrypt(XElement plaintextElement) => new(new XElement(plaintextElement), typeof(Decryptor));
    }

    private sealed class Decryptor : IXmlDecryptor
    {
        public XElement Decrypt(XElement encryptedElement) => new(encryptedElement);
    }
}
